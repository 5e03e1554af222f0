import { headOf, sleep } from '../feed.js';
import type { EventStore } from '../../store/event-store.js';
import type { ProjectionCache } from './cache.js';

/**
 * Marks the cache stale while the store is out of reach, and fresh once it answers again, reading its last
 * event every `intervalMs` (default 1000). Each instance of a service follows its own connection, so
 * each knows when what it serves may be behind. Settles when `signal` aborts.
 */
export const followSource = async (
  store: Pick<EventStore, 'readAll'>,
  cache: Pick<ProjectionCache<unknown>, 'sourceDown' | 'sourceUp'>,
  { signal, intervalMs = 1000 }: { signal: AbortSignal; intervalMs?: number },
): Promise<void> => {
  while (!signal.aborted) {
    const asked = new Date();
    try {
      await headOf(store);
      cache.sourceUp();
    } catch {
      cache.sourceDown(asked);
    }
    await sleep(intervalMs, signal);
  }
};
