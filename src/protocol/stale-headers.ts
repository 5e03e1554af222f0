/**
 * How a service marks a query served from cache while its source is down (DESIGN.md section 9, "Cache"):
 * `Annals-Stale: since=<RFC 3339>` and `Age: <seconds since then>`. Nothing for a fresh result.
 */
import type { CacheResult } from '../projection/cache/cache.js';

export const staleHeaders = (result: CacheResult<unknown>, now: Date = new Date()): Record<string, string> =>
  result.stale
    ? {
        'Annals-Stale': `since=${result.staleSince.toISOString()}`,
        Age: String(Math.max(0, Math.floor((now.getTime() - result.staleSince.getTime()) / 1000))),
      }
    : {};
