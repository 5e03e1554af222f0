/**
 * One read of new events serves every live subscriber of a store. When the log grows, the tail reads the
 * new events once, in log order, and hands each only to the listeners it concerns: by stream name, by
 * category, or by filter. A listener that no event concerns costs nothing per append.
 *
 * A subscriber that is behind reads the log itself, then attaches with the position it has examined
 * through; the tail accepts it only if it has handed out nothing beyond that position, so no event falls
 * between the two. The tail reads only while someone listens.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ChangeFeed } from './change-feed.js';
import { matchesFilter } from './filter.js';
import { categoryOf, type AllFilter, type RecordedEvent } from './model.js';

/** The shortest time between two reads of the tail while events keep arriving. */
export const minReadIntervalMs = 5;

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
  /** The events after `after` up to `to`, in log order, at most `limit`, unfiltered. */
  readAfter: (after: bigint, to: bigint, limit: number) => Promise<RecordedEvent[]>;
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

  const onlyCategory = (filter: AllFilter | undefined): string | undefined =>
    filter?.category !== undefined && filter.types === undefined && filter.streams === undefined ? filter.category : undefined;

  /** The map and key that route events to a listener; none for listeners that test every event. */
  const routeOf = (listener: TailListener): { map: Map<string, Set<TailListener>>; key: string } | undefined => {
    if (listener.stream !== undefined) return { map: byStream, key: listener.stream };
    const category = onlyCategory(listener.filter);
    return category === undefined ? undefined : { map: byCategory, key: category };
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
        // While appends keep coming, read at most once per interval: appends that land meanwhile share
        // the read, and the writers are not slowed by one read per append. A quiet log is read at once.
        const wait = lastReadAt + minReadIntervalMs - performance.now();
        await (wait > 0 ? sleep(wait) : new Promise(setImmediate));
        if (listening === 0 || closed) continue;
        lastReadAt = performance.now();
        const started = generation;
        const headBeforeRead = changes.head;
        const page = await readAfter(position, headBeforeRead, pageSize);
        if (started !== generation || closed) continue;
        for (const event of page) hand(event);
        // A short page has shown everything up to the head seen before the read, and never more.
        position = page.length === pageSize ? page.at(-1)!.position : headBeforeRead;
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
