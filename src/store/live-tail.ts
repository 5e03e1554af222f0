/**
 * One read of new events serves every live subscriber of a store. When the log grows, the tail reads the
 * new events once, in log order, and hands each only to the listeners it concerns: by stream name, by
 * category, or by filter. A listener that no event concerns costs nothing per append.
 *
 * A subscriber that is behind reads the log itself, then attaches with the position it has examined
 * through; the tail accepts it only if it has handed out nothing beyond that position, so no event falls
 * between the two. The tail reads only while someone listens.
 *
 * When every listener is routed by stream name or category and there are few of them, the tail reads only
 * the events of streams that start with those names (more than needed, never less: `hand` routes exactly);
 * likewise when every listener filters by a few event types only, it reads only those types. So a busy log
 * of other streams or types costs a scan in the database, not every event parsed into an object.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ChangeFeed } from './change-feed.js';
import { matchesFilter } from './filter.js';
import { categoryOf, isSystemStream, type AllFilter, type RecordedEvent } from './model.js';

/** The longest the tail waits between two reads while events keep arriving. */
export const maxReadIntervalMs = 5;
/** The share of its time the tail may spend reading while events keep arriving. */
const readShare = 0.05;
/** Most reading time (ms) saved up while the log is quiet, so that a burst after a lull is read at once. */
const maxReadBudgetMs = 1;
/** Most stream names and categories, or event types, the tail narrows its reads to; with more it reads all. */
const maxReadNames = 16;

export interface TailListener {
  /** Routes by stream name: the listener hears only the events of this stream. */
  readonly stream?: string | undefined;
  /** Otherwise routes by filter; `undefined` hears every event. */
  readonly filter?: AllFilter | undefined;
  /**
   * A new event the listener is concerned with. `take` gives the event; the first caller gets the object
   * read, later callers a copy, so that subscribers never share (and mutate) one object.
   */
  deliver(event: RecordedEvent, take: () => RecordedEvent): void;
  /** The tail could not read; it has let go of every listener, which now read for themselves. */
  fail(error: unknown): void;
}

export interface LiveTail {
  /** Every event up to this position has been handed out. */
  readonly position: bigint;
  /** Attaches a listener that has examined the log through `examined`; `false` when the tail is past it. */
  attach(listener: TailListener, examined: bigint): boolean;
  detach(listener: TailListener): void;
  close(): void;
}

export const createLiveTail = (options: {
  changes: ChangeFeed;
  /** The events after `after` up to `to` that pass `filter`, in log order, at most `limit`. */
  readAfter: (after: bigint, to: bigint, limit: number, filter: AllFilter | undefined) => Promise<RecordedEvent[]>;
  pageSize: number;
}): LiveTail => {
  const { changes, readAfter, pageSize } = options;
  const byStream = new Map<string, Set<TailListener>>();
  const byCategory = new Map<string, Set<TailListener>>();
  const others = new Set<TailListener>();
  let listening = 0;
  let position = 0n;
  // Bumped whenever the tail starts over from a new position, so that a read begun before is dropped.
  let generation = 0;
  let running = false;
  let closed = false;
  let idle = new AbortController();
  let lastReadAt = -Infinity;
  let budget = maxReadBudgetMs;
  let budgetAt = performance.now();
  // The filter of the read under way, if any: `null` when none is, `undefined` when it reads every event.
  let reading: AllFilter | undefined | null = null;

  const onlyCategory = (filter: AllFilter | undefined): string | undefined =>
    filter?.category !== undefined &&
    filter.types === undefined &&
    filter.streams === undefined &&
    (filter.includeSystem === true || !isSystemStream(filter.category))
      ? filter.category
      : undefined;

  /** The map and key that route events to a listener; none for listeners that test every event. */
  const routeOf = (listener: TailListener): { map: Map<string, Set<TailListener>>; key: string } | undefined => {
    if (listener.stream !== undefined) return { map: byStream, key: listener.stream };
    const category = onlyCategory(listener.filter);
    return category === undefined ? undefined : { map: byCategory, key: category };
  };

  /** The narrowest filter that still gives every listener all it may want. */
  const readFilter = (): AllFilter | undefined => {
    // System events are read when a listener may want them (its filter asks, or it follows a `$` stream).
    const system =
      [...others].some(({ filter }) => filter?.includeSystem === true) ||
      [...byStream.keys(), ...byCategory.keys()].some((name) => isSystemStream(name));
    const every = system ? { includeSystem: true } : undefined;
    if (others.size > 0) {
      if (byStream.size + byCategory.size > 0) return every;
      if (others.size === 1) return [...others][0]!.filter;
      // Listeners that each want only some event types: one read of all those types serves them all.
      const types = new Set<string>();
      for (const { filter } of others) {
        if (filter?.types === undefined || filter.streams !== undefined || filter.category !== undefined) return every;
        for (const type of filter.types) types.add(type);
      }
      return types.size <= maxReadNames ? { types: [...types], ...every } : every;
    }
    const prefixes = [...byStream.keys(), ...byCategory.keys()];
    return prefixes.length <= maxReadNames ? { streams: prefixes, ...every } : every;
  };

  const hand = (event: RecordedEvent) => {
    let taken = false;
    const take = () => {
      if (!taken) {
        taken = true;
        return event;
      }
      return structuredClone(event);
    };
    for (const listener of byStream.get(event.stream) ?? []) listener.deliver(event, take);
    for (const listener of byCategory.get(categoryOf(event.stream)) ?? []) listener.deliver(event, take);
    for (const listener of others) if (matchesFilter(listener.filter, event.stream, event.type)) listener.deliver(event, take);
  };

  const letGoOfAll = (error: unknown) => {
    const all = [...byStream.values(), ...byCategory.values(), others].flatMap((set) => [...set]);
    byStream.clear();
    byCategory.clear();
    others.clear();
    listening = 0;
    idle.abort();
    for (const listener of all) listener.fail(error);
  };

  const run = async () => {
    running = true;
    try {
      while (listening > 0 && !closed) {
        if (changes.head <= position) {
          await changes.wait(position, idle.signal);
          continue;
        }
        // While appends keep coming, the tail spends at most about a twentieth of its time reading, and never
        // waits more than maxReadIntervalMs: appends that land meanwhile share the next read, so writers
        // are not slowed by one read per append, yet at a modest rate each event is read as it comes. A
        // budget rather than a fixed interval, because a timer cannot wait less than a millisecond.
        const now = performance.now();
        budget = Math.min(maxReadBudgetMs, budget + (now - budgetAt) * readShare);
        budgetAt = now;
        const wait = budget >= 0 ? 0 : Math.min(-budget / readShare, lastReadAt + maxReadIntervalMs - now);
        await (wait > 0 ? sleep(wait) : new Promise(setImmediate));
        if (listening === 0 || closed) continue;
        lastReadAt = performance.now();
        const started = generation;
        const headBeforeRead = changes.head;
        reading = readFilter();
        const page = await readAfter(position, headBeforeRead, pageSize, reading).finally(() => (reading = null));
        if (started === generation && !closed) {
          for (const event of page) hand(event);
          // A short page has shown everything up to the head seen before the read, and never more.
          position = page.length === pageSize ? page.at(-1)!.position : headBeforeRead;
        }
        budget -= performance.now() - lastReadAt;
      }
    } catch (error) {
      if (!closed) letGoOfAll(error);
    } finally {
      running = false;
    }
  };

  return {
    get position() {
      return position;
    },
    attach(listener, examined) {
      if (closed) return false;
      if (listening === 0) {
        // Nobody depends on where the tail was: start where this listener is (never above the head).
        position = examined < changes.head ? examined : changes.head;
        generation++;
        idle = new AbortController();
      } else if (examined < position) {
        return false;
      } else if (reading !== null && reading !== undefined) {
        // The read under way may leave out what this listener wants: start it over once it is done.
        generation++;
      }
      const route = routeOf(listener);
      if (route === undefined) others.add(listener);
      else route.map.set(route.key, (route.map.get(route.key) ?? new Set()).add(listener));
      listening++;
      if (!running) void run();
      return true;
    },
    detach(listener) {
      const route = routeOf(listener);
      const set = route === undefined ? others : route.map.get(route.key);
      if (set?.delete(listener) !== true) return;
      if (route !== undefined && set.size === 0) route.map.delete(route.key);
      if (--listening === 0) idle.abort();
    },
    close() {
      closed = true;
      idle.abort();
    },
  };
};
