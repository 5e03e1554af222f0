/**
 * Feeding events to one build of a projection. `applyBatch` runs the handlers of a batch and moves the
 * build's checkpoint in one read-model transaction; `feedLive` follows the log from the build's checkpoint
 * through a catch-up subscription; `feedSubset` replays part of the log into a build without moving its
 * checkpoint (at-least-once, `context.replay` set). Every commit of a build goes through the build's lock,
 * so a replay and the live feed of one build never race for its checkpoint.
 */
import { setTimeout as wait } from 'node:timers/promises';
import type { EventStore } from '../store/event-store.js';
import { matchesFilter } from '../store/filter.js';
import { isCaughtUp, isCheckpoint, type RecordedEvent } from '../store/model.js';
import type { Build, Projection, ProjectionCommit, ProjectionContext, ReadModel } from './model.js';

/** A build as a runner holds it: its checkpoint as last committed, and the lock its commits take. */
export interface TrackedBuild {
  readonly build: Build;
  locked<T>(work: () => Promise<T>): Promise<T>;
}

export const trackBuild = (build: Build): TrackedBuild => {
  let tail: Promise<unknown> = Promise.resolve();
  return {
    build: { ...build },
    locked(work) {
      const result = tail.then(work);
      tail = result.catch(() => undefined);
      return result;
    },
  };
};

/** Whether the projection applies events of this type: those with a handler, or its source's types with `handleBatch`. */
export const handles = <Db>(projection: Projection<Db>, type: string): boolean =>
  projection.handleBatch === undefined ? projection.handlers[type] !== undefined : (projection.source?.types?.includes(type) ?? true);

/** A handler threw: the error, with the event it threw on. */
export class HandlerError extends Error {
  constructor(
    readonly event: RecordedEvent,
    override readonly cause: unknown,
  ) {
    super(cause instanceof Error ? cause.message : String(cause));
  }
}

export interface FeedSettings<Db> {
  store: EventStore;
  projection: Projection<Db>;
  readModel: ReadModel<Db>;
  batchSize: number;
  onCommit: (commit: ProjectionCommit) => void;
  /** Settles when the feed may commit (the runner is not paused). */
  gate: () => Promise<void>;
  /** Events per second at most while catching up or replaying; unlimited when absent. */
  rate?: number;
  signal: AbortSignal;
}

/**
 * Applies the batch to the build and moves its checkpoint to `to` (a replay keeps it where it is).
 * False when fenced: the checkpoint moved under another runner, or the build is gone.
 */
export const applyBatch = <Db>(
  { projection, readModel, onCommit }: Pick<FeedSettings<Db>, 'projection' | 'readModel' | 'onCommit'>,
  tracked: TrackedBuild,
  batch: readonly RecordedEvent[],
  to: bigint | 'unchanged',
  replay: boolean,
): Promise<boolean> =>
  tracked.locked(async () => {
    const { build } = tracked;
    const from = build.position;
    const target = to === 'unchanged' ? from : to;
    if (to !== 'unchanged' && target <= from) return true;
    const keys = new Set<string>();
    const context: ProjectionContext = { ...readModel.context(build), replay, invalidate: (key) => void keys.add(key) };
    const committed = await readModel.commit(build, from, target, (db) =>
      projection.handleBatch === undefined ? handleFrom(projection, db, batch, context, 0) : handleAll(projection, db, batch, context),
    );
    if (!committed) return false;
    build.position = target;
    if (keys.size > 0 || target !== from) {
      onCommit({ name: build.name, version: build.version, build: build.build, position: target, keys: [...keys], activated: false });
    }
    return true;
  });

/** Runs the projection's batch handler on the whole batch; a throw is reported with the batch's first event. */
const handleAll = <Db>(projection: Projection<Db>, db: Db, batch: readonly RecordedEvent[], context: ProjectionContext) => {
  if (batch.length === 0) return;
  let result: void | Promise<void>;
  try {
    result = projection.handleBatch!(db, batch, context);
  } catch (error) {
    throw new HandlerError(batch[0]!, error);
  }
  if (result instanceof Promise) {
    return result.catch((error: unknown) => {
      throw new HandlerError(batch[0]!, error);
    });
  }
};

/** Runs the handlers from `index` on, synchronously until one returns a promise. */
const handleFrom = <Db>(
  projection: Projection<Db>,
  db: Db,
  batch: readonly RecordedEvent[],
  context: ProjectionContext,
  index: number,
): void | Promise<void> => {
  for (let at = index; at < batch.length; at++) {
    const event = batch[at]!;
    let result: void | Promise<void>;
    try {
      result = projection.handlers[event.type]?.(db, event, context);
    } catch (error) {
      throw new HandlerError(event, error);
    }
    if (result instanceof Promise) {
      return result.then(
        () => handleFrom(projection, db, batch, context, at + 1),
        (error: unknown) => {
          throw new HandlerError(event, error);
        },
      );
    }
  }
};

/**
 * The position of the log's last event (0 for an empty log): one event read backwards from the end, a
 * cheap call on every engine (`stats()` counts the events).
 */
export const headOf = async (store: Pick<EventStore, 'readAll'>): Promise<bigint> =>
  (await store.readAll({ from: 'end', direction: 'backwards', limit: 1, filter: { includeSystem: true } }))[0]?.position ?? 0n;

/** Waits `ms`, or less when `signal` aborts. */
export const sleep = (ms: number, signal: AbortSignal): Promise<void> => wait(ms, undefined, { signal }).catch(() => undefined);

/** Keeps a feed under `rate` events per second, counting from its start. */
const throttle = (rate: number | undefined, signal: AbortSignal) => {
  const started = Date.now();
  let applied = 0;
  return async (events: number) => {
    applied += events;
    if (rate === undefined) return;
    const due = started + (applied / rate) * 1000 - Date.now();
    if (due > 0) await sleep(due, signal);
  };
};

export interface LiveFeed {
  /** Whether the feed has read all history and now follows live events. */
  readonly live: boolean;
  /** The position the feed has read to (its build's checkpoint may trail it by a batch). */
  readonly reached: bigint;
  /** Events applied so far. */
  readonly applied: number;
  /** Settles when the feed stops: aborted (`'stopped'`), fenced (`'fenced'`); rejects with a handler's error. */
  readonly done: Promise<'stopped' | 'fenced'>;
}

/**
 * Follows the log into the build from its checkpoint: batches of up to `batchSize` events while catching
 * up (throttled to `rate`), then each live event as it comes. `afterCommit` runs after every commit.
 */
export const feedLive = <Db>(settings: FeedSettings<Db>, tracked: TrackedBuild, afterCommit: () => Promise<void>): LiveFeed => {
  const { store, projection, batchSize, signal } = settings;
  const state = { live: false, reached: tracked.build.position, applied: 0 };
  const paced = throttle(settings.rate, signal);
  const run = async (): Promise<'stopped' | 'fenced'> => {
    const subscription = store.subscribe({ filter: projection.source, from: tracked.build.position, checkpoints: true, signal });
    try {
      let batch: RecordedEvent[] = [];
      for await (const message of subscription) {
        if (isCaughtUp(message)) state.live = true;
        else if (isCheckpoint(message)) state.reached = message.checkpoint;
        else {
          state.reached = message.position;
          if (handles(projection, message.type)) batch.push(message);
        }
        if (!state.live && batch.length < batchSize && !isCheckpoint(message)) continue;
        await settings.gate();
        if (signal.aborted) break;
        if (!(await applyBatch(settings, tracked, batch, state.reached, false))) return 'fenced';
        state.applied += batch.length;
        if (!state.live) await paced(batch.length);
        batch = [];
        await afterCommit();
        if (signal.aborted) break;
      }
      return 'stopped';
    } finally {
      await subscription.close();
    }
  };
  return {
    get live() {
      return state.live;
    },
    get reached() {
      return state.reached;
    },
    get applied() {
      return state.applied;
    },
    done: run(),
  };
};

/** What part of the log a subset replay covers: positions inclusive, times on `recordedAt`. */
export interface Subset {
  from: bigint;
  to: bigint;
  stream?: string;
  category?: string;
  fromTime?: Date;
  toTime?: Date;
}

/**
 * Replays the events of `subset` that the projection handles into the build, with `context.replay` set and
 * its checkpoint unchanged. `progress` hears the position reached after each batch. False when fenced.
 */
export const feedSubset = async <Db>(
  settings: FeedSettings<Db>,
  tracked: TrackedBuild,
  subset: Subset,
  progress: (reached: bigint, applied: number) => void,
): Promise<boolean> => {
  const { store, projection, batchSize, signal } = settings;
  const paced = throttle(settings.rate, signal);
  const wanted = (event: RecordedEvent) =>
    handles(projection, event.type) &&
    matchesFilter(projection.source, event.stream, event.type) &&
    (subset.category === undefined || matchesFilter({ category: subset.category, includeSystem: true }, event.stream, event.type)) &&
    (subset.fromTime === undefined || event.recordedAt >= subset.fromTime) &&
    (subset.toTime === undefined || event.recordedAt <= subset.toTime);
  const events =
    subset.stream !== undefined
      ? store.iterateStream(subset.stream)
      : store.iterateAll({
          from: subset.from,
          filter: { ...projection.source, ...(subset.category === undefined ? {} : { category: subset.category }) },
        });
  let batch: RecordedEvent[] = [];
  let applied = 0;
  const flush = async (reached: bigint) => {
    await settings.gate();
    if (!(await applyBatch(settings, tracked, batch, 'unchanged', true))) return false;
    applied += batch.length;
    await paced(batch.length);
    batch = [];
    progress(reached, applied);
    return true;
  };
  for await (const event of events) {
    if (signal.aborted) return true;
    if (event.position < subset.from) continue;
    if (event.position > subset.to) break;
    if (wanted(event)) batch.push(event);
    if (batch.length >= batchSize && !(await flush(event.position))) return false;
  }
  return signal.aborted || (await flush(subset.to));
};
