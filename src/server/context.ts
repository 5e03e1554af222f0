import type { EventStore } from '../store/event-store.js';
import type { StreamAcls } from '../auth/stream-acl.js';
import type { Metrics } from './metrics.js';
import type { PageSizes } from './reads.js';
import type { OpenSubscriptions } from './sse.js';

/** What the route plugins share. */
export interface RouteContext {
  store: EventStore;
  metrics: Metrics;
  sizes: PageSizes;
  heartbeatMs: number;
  subscriptions: OpenSubscriptions;
  acls: StreamAcls;
}

/** Query values of the HTTP API that the store takes as numbers or lists. */
export const revisionOrKeyword = (value: string | undefined) =>
  value === undefined || value === 'start' || value === 'end' ? value : Number(value);

export const positionOrKeyword = (value: string | undefined) =>
  value === undefined || value === 'start' || value === 'end' ? value : BigInt(value);

const listOf = (value: string | string[] | undefined) => (value === undefined || Array.isArray(value) ? value : [value]);

export const filterOf = (query: { types?: string | string[]; streams?: string | string[]; category?: string; includeSystem?: string }) => {
  const filter = {
    types: listOf(query.types),
    streams: listOf(query.streams),
    category: query.category,
    ...(query.includeSystem === 'true' ? { includeSystem: true } : {}),
  };
  return filter.types === undefined && filter.streams === undefined && filter.category === undefined && filter.includeSystem === undefined
    ? undefined
    : filter;
};
