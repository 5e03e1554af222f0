/**
 * A cache of streams' states for `handleCommand` (the caching of Equinox): a command on a stream whose
 * state is cached decides on it at once and appends with the cached revision, without loading. Safe by
 * optimistic concurrency: if another writer moved the stream, the append is refused and the command loads
 * and decides again; a refusal or an empty decision made on a cached state is confirmed on a fresh load
 * before it reaches the caller. It pays where one service instance owns its streams (most writes come
 * through it); elsewhere it costs a conflict now and then.
 */
import { LRUCache } from 'lru-cache';
import { InvalidArgumentError } from '../store/errors.js';
import type { EventStore } from '../store/event-store.js';
import { checkOptionsObject, shown } from '../store/validate.js';
import type { Loaded } from './aggregate.js';

interface Entry {
  /** The store and decider the state belongs to: the same stream under another decider is another state. */
  store: EventStore;
  decider: object;
  loaded: Loaded<unknown>;
}

export interface StateCache {
  get<State>(store: EventStore, decider: object, stream: string): Loaded<State> | undefined;
  set<State>(store: EventStore, decider: object, stream: string, loaded: Loaded<State>): void;
  delete(stream: string): void;
  /** Streams whose state is held. */
  readonly size: number;
}

/** A cache of at most `maxEntries` streams' states (default 10,000), the least recently used dropped first. */
export const createStateCache = (options: { maxEntries?: number } = {}): StateCache => {
  const { maxEntries = 10_000 } = checkOptionsObject(options, ['maxEntries']);
  if (!Number.isSafeInteger(maxEntries) || (maxEntries as number) < 1) {
    throw new InvalidArgumentError(`maxEntries is ${shown(maxEntries)}; allowed: a positive integer`);
  }
  const entries = new LRUCache<string, Entry>({ max: maxEntries as number });
  return {
    get<State>(store: EventStore, decider: object, stream: string) {
      const entry = entries.get(stream);
      return entry?.store === store && entry.decider === decider ? (entry.loaded as Loaded<State>) : undefined;
    },
    set(store, decider, stream, loaded) {
      entries.set(stream, { store, decider, loaded });
    },
    delete(stream) {
      entries.delete(stream);
    },
    get size() {
      return entries.size;
    },
  };
};
