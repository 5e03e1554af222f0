/**
 * The read-through cache in front of a read model (DESIGN.md section 9, "Cache"). A query's result is
 * cached by (projection, version, key) with the read-model position it reflects, in process (an LRU bound
 * by entries and by JSON bytes) and, optionally, in a shared tier (Redis) behind it.
 *
 * - A fill reads `position()` before `load(key)`; it is returned but not stored when an invalidation of the
 *   key (or of the whole projection) above that position is known, including one that arrived during the
 *   load: a slow fill never puts an outdated value back.
 * - `onCommit` (called by the runner after each read-model commit) makes the commit's keys outdated, every
 *   entry of the projection when a build became active; through the shared tier, on every instance.
 * - While the source is down (`sourceDown`, or the loader failing), the last known entry is served marked
 *   stale, for at most `maxStaleSeconds`.
 * - `atLeastPosition` waits for the read model to reach a position (a command's result) before reading.
 */
import { LRUCache } from 'lru-cache';
import { InvalidArgumentError, UnavailableError } from '../../store/errors.js';
import { checkOptionsObject, shown } from '../../store/validate.js';
import type { ProjectionCommit } from '../model.js';
import type { CacheTier, Invalidation } from './tier.js';

export interface CacheSource<Value> {
  /** The query's result for the key, from the read model; undefined when there is none (cached too). */
  load(key: string): Promise<Value | undefined>;
  /** The read model's position for the projection; read before each load. */
  position(): Promise<bigint>;
}

export interface ProjectionCacheOptions<Value> extends CacheSource<Value> {
  /** The projection whose read model the cached queries read. */
  projection: string;
  /** The version queries see now; follows the versions that become active. */
  version: number;
  /** The in-process tier, or false for none (the shared tier alone). Default: 10,000 entries, 64 MiB. */
  local?: false | { maxEntries?: number; maxBytes?: number };
  /** A tier shared by the instances of a service (Redis), behind the local one. */
  shared?: CacheTier;
  /** How long a stale entry may be served after the source went down; default 300. */
  maxStaleSeconds?: number;
  /** Invalidations remembered per key (older ones are folded into one floor); default 100,000. */
  maxInvalidations?: number;
  /** Counts for metrics: each get's outcome. */
  observe?: (outcome: 'hit' | 'miss' | 'stale') => void;
  /** Where failures of the shared tier go (the cache goes on without it); default a process warning. */
  onError?: (error: unknown) => void;
}

export interface GetOptions {
  /** Wait until the read model has reached this position (a command's result), then read. */
  atLeastPosition?: bigint;
  /** How long to wait for `atLeastPosition`; default 5000. */
  timeoutMs?: number;
}

export type CacheResult<Value> =
  | { value: Value | undefined; position: bigint; stale: false }
  | { value: Value | undefined; position: bigint; stale: true; staleSince: Date };

export interface ProjectionCache<Value> {
  get(key: string, options?: GetOptions): Promise<CacheResult<Value>>;
  /** Tells the cache about a read-model commit (the runner's `onCommit`). */
  onCommit(commit: ProjectionCommit): Promise<void>;
  /** The store or the read database is unreachable since `since` (default now): serve stale. */
  sourceDown(since?: Date): void;
  /** The source is back: serve fresh again. */
  sourceUp(): void;
  /** Settles once the shared tier's invalidations are received (at once without one). */
  readonly ready: Promise<void>;
  /** Entries in the local tier, and their JSON bytes. */
  readonly size: { entries: number; bytes: number };
  close(): Promise<void>;
}

/** `atLeastPosition` was not reached in time: the read model is behind (or down). */
export class PositionNotReachedError extends UnavailableError {
  constructor(
    readonly projection: string,
    readonly position: bigint,
    readonly reached: bigint,
    readonly timeoutMs: number,
  ) {
    super(`projection '${projection}' did not reach position ${position} within ${timeoutMs} ms (it is at ${reached})`);
  }
}

interface Entry {
  value: unknown;
  position: bigint;
  bytes: number;
  /** An invalidation came: never served fresh, kept as the stale fallback. */
  outdated?: boolean;
}

const max = (a: bigint, b: bigint) => (a > b ? a : b);

const encode = (value: unknown, position: bigint) =>
  value === undefined ? `{"p":"${position}"}` : `{"p":"${position}","v":${JSON.stringify(value)}}`;

/** An entry of the shared tier; its bytes are counted when the local tier keeps it. */
const decode = (text: string): Entry => {
  const { p, v } = JSON.parse(text) as { p: string; v?: unknown };
  return { value: v, position: BigInt(p), bytes: 0 };
};

const noOptions: GetOptions = Object.freeze({});
const checkGetOptions = (options: GetOptions): GetOptions => checkOptionsObject(options, ['atLeastPosition', 'timeoutMs']) as GetOptions;

const positiveInteger = (name: string, value: unknown, fallback: number): number => {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || (value as number) < 1) {
    throw new InvalidArgumentError(`${name} is ${shown(value)}; allowed: a positive integer`);
  }
  return value as number;
};

export const createProjectionCache = <Value>(options: ProjectionCacheOptions<Value>): ProjectionCache<Value> => {
  const checked = checkOptionsObject(options, [
    'projection',
    'version',
    'load',
    'position',
    'local',
    'shared',
    'maxStaleSeconds',
    'maxInvalidations',
    'observe',
    'onError',
  ]);
  if (typeof checked.projection !== 'string' || checked.projection === '') {
    throw new InvalidArgumentError(`projection is ${shown(checked.projection)}; allowed: a projection's name`);
  }
  if (!Number.isSafeInteger(checked.version) || (checked.version as number) < 1) {
    throw new InvalidArgumentError(`version is ${shown(checked.version)}; allowed: a positive integer`);
  }
  if (typeof options.load !== 'function' || typeof options.position !== 'function') {
    throw new InvalidArgumentError('load and position must be functions: load(key) and position() of the read model');
  }
  const { projection: name, shared, observe, load, position: readPosition } = options;
  const maxStaleMs = (options.maxStaleSeconds ?? 300) * 1000;
  if (!(maxStaleMs >= 0)) throw new InvalidArgumentError(`maxStaleSeconds is ${shown(options.maxStaleSeconds)}; allowed: 0 or more`);
  const onError = options.onError ?? ((error: unknown) => process.emitWarning(`projection cache '${name}': ${String(error)}`));
  let version = options.version;

  const localOptions = options.local === false ? undefined : checkOptionsObject(options.local, ['maxEntries', 'maxBytes'], 'local');
  const local =
    localOptions === undefined
      ? undefined
      : new LRUCache<string, Entry>({
          max: positiveInteger('local.maxEntries', localOptions.maxEntries, 10_000),
          maxSize: positiveInteger('local.maxBytes', localOptions.maxBytes, 64 * 2 ** 20),
          sizeCalculation: (entry) => Math.max(1, entry.bytes),
        });

  /** Invalidation positions by entry id; the ones folded out of the LRU raise `floor`. */
  let floor = 0n;
  const invalidations = new LRUCache<string, bigint>({
    max: positiveInteger('maxInvalidations', options.maxInvalidations, 100_000),
    dispose: (position, _key, reason) => {
      if (reason === 'evict') floor = max(floor, position);
    },
  });
  /** The highest commit position seen, for `atLeastPosition`; waiters are woken when it moves. */
  let seen = 0n;
  let wake: () => void = () => undefined;
  let moved = new Promise<void>((resolve) => (wake = resolve));
  const advance = (position: bigint) => {
    if (position <= seen) return;
    seen = position;
    wake();
    moved = new Promise<void>((resolve) => (wake = resolve));
  };

  let sourceDownSince: Date | undefined;
  let loaderFailingSince: Date | undefined;
  /** Whether the local tier may be trusted: false until subscribed, and while the channel is down. */
  let trusted = shared === undefined;
  const inflight = new Map<string, Promise<{ value: Value | undefined; position: bigint }>>();

  const idOf = (key: string) => `${version}\u0000${key}`;
  const floorOf = (id: string) => max(floor, invalidations.peek(id) ?? 0n);
  /** The position of the last activation applied: an older one (a late reply, an echo) changes nothing. */
  let activatedAt = -1n;

  /** Applies an invalidation (from this instance or another) to what this instance holds. */
  const apply = (message: Invalidation) => {
    if (message.name !== name) return;
    if (message.activated) {
      // A switch back and forth may happen at one position (no event between): then the version tells.
      if (message.position < activatedAt || (message.position === activatedAt && message.version === version)) return;
      activatedAt = message.position;
      version = message.version;
      floor = max(floor, message.position);
      local?.clear();
    } else if (message.version === version) {
      for (const key of message.keys) {
        const id = idOf(key);
        invalidations.set(id, max(invalidations.peek(id) ?? 0n, message.position));
        const entry = local?.peek(id);
        if (entry !== undefined && entry.position < message.position) entry.outdated = true;
      }
    } else return;
    advance(message.position);
  };

  const catchUpActivation = async () => {
    try {
      const activation = await shared?.activation(name);
      if (activation !== undefined) apply({ name, ...activation, keys: [], activated: true });
    } catch (error) {
      onError(error);
    }
  };
  /** Subscribes to the shared tier's invalidations; until then (or if it fails) the local tier is bypassed. */
  const unsubscribe: Promise<(() => Promise<void>) | undefined> =
    shared === undefined
      ? Promise.resolve(undefined)
      : (async () => {
          try {
            const stop = await shared.subscribe(name, {
              invalidation: apply,
              connected(connected) {
                // Messages may have been missed while the channel was down: the local tier starts over.
                local?.clear();
                trusted = connected;
                if (connected) void catchUpActivation();
              },
            });
            await catchUpActivation();
            local?.clear();
            trusted = true;
            return stop;
          } catch (error) {
            onError(error);
            return undefined;
          }
        })();

  /** An entry read from the shared tier (null for a miss), kept locally unless an invalidation outdated it. */
  const fromShared = (id: string, at: number, text: string | null): Entry | undefined => {
    if (text === null || at !== version) return undefined;
    const entry = decode(text);
    if (entry.position < floorOf(id)) return undefined;
    if (trusted && local !== undefined) {
      entry.bytes = Buffer.byteLength(text);
      local.set(id, entry);
    }
    return entry;
  };

  /** Reads through: one load per key at a time; stored only when no newer invalidation is known. */
  const fill = (key: string, id: string) => {
    const running = inflight.get(id);
    if (running !== undefined) return running;
    const at = version;
    const work = (async () => {
      const position = await readPosition();
      const value = await load(key);
      if (position >= floorOf(id) && at === version) {
        const text = encode(value, position);
        let stored = true;
        if (shared !== undefined) {
          try {
            stored = await shared.fill({ name, version: at, key }, position, text);
          } catch (error) {
            onError(error);
            stored = false;
          }
        }
        if (stored && trusted && position >= floorOf(id) && at === version) {
          local?.set(id, { value, position, bytes: Buffer.byteLength(text) });
        }
      }
      return { value, position };
    })();
    inflight.set(id, work);
    void work.then(
      () => inflight.delete(id),
      () => inflight.delete(id),
    );
    return work;
  };

  const reach = async (target: bigint, timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (seen >= target) return;
      try {
        advance(await readPosition());
      } catch {
        // The read database is down: wait for commits (or the timeout).
      }
      if (seen >= target) return;
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new PositionNotReachedError(name, target, seen, timeoutMs);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([moved, new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.min(remaining, 25))))]);
      clearTimeout(timer);
    }
  };

  const expired = (since: Date) => Date.now() - since.getTime() > maxStaleMs;
  const stale = (entry: { value: unknown; position: bigint }, since: Date): CacheResult<Value> => {
    observe?.('stale');
    return { value: entry.value as Value | undefined, position: entry.position, stale: true, staleSince: since };
  };

  return {
    async get(key, getOptions = noOptions) {
      if (typeof key !== 'string') throw new InvalidArgumentError(`key is ${shown(key)}; allowed: a string`);
      const { atLeastPosition, timeoutMs = 5000 } = getOptions === noOptions ? getOptions : checkGetOptions(getOptions);
      if (atLeastPosition !== undefined && typeof atLeastPosition !== 'bigint') {
        throw new InvalidArgumentError(`atLeastPosition is ${shown(atLeastPosition)}; allowed: a bigint position`);
      }
      if (atLeastPosition !== undefined) await reach(atLeastPosition, timeoutMs);
      const id = idOf(key);
      // The entry held for the key: local first, then the shared tier (a miss when it fails). Inline, as
      // each promise between a caller and Redis costs a hit through Redis a little.
      let found = trusted ? local?.get(id) : undefined;
      if (found === undefined && shared !== undefined) {
        const at = version;
        let text: string | null = null;
        try {
          text = await shared.get({ name, version: at, key });
        } catch (error) {
          onError(error);
        }
        found = fromShared(id, at, text);
      }
      const cached = found !== undefined && found.position >= (atLeastPosition ?? 0n) ? found : undefined;

      if (sourceDownSince !== undefined) {
        const since = sourceDownSince;
        if (expired(since)) {
          throw new UnavailableError(
            `the source of projection '${name}' is down since ${since.toISOString()}, longer than maxStaleSeconds`,
          );
        }
        return stale(cached ?? (await fill(key, id)), since);
      }
      if (cached !== undefined && !cached.outdated && loaderFailingSince === undefined) {
        observe?.('hit');
        return { value: cached.value as Value | undefined, position: cached.position, stale: false };
      }
      try {
        let loaded = await fill(key, id);
        // A load under way when this get came may have read the read model below the position asked for.
        if (atLeastPosition !== undefined && loaded.position < atLeastPosition) loaded = await fill(key, id);
        loaderFailingSince = undefined;
        observe?.('miss');
        return { ...loaded, stale: false };
      } catch (error) {
        loaderFailingSince ??= new Date();
        if (cached !== undefined && !expired(loaderFailingSince)) return stale(cached, loaderFailingSince);
        throw error;
      }
    },

    async onCommit(commit) {
      if (commit.name !== name) return;
      const message: Invalidation = {
        name,
        version: commit.version,
        position: commit.position,
        keys: commit.keys,
        activated: commit.activated,
      };
      if (!message.activated && (message.version !== version || message.keys.length === 0)) {
        if (message.version === version) advance(message.position);
        return;
      }
      apply(message);
      try {
        await shared?.invalidate(message);
      } catch (error) {
        onError(error);
      }
    },

    sourceDown(since = new Date()) {
      if (!(since instanceof Date) || Number.isNaN(since.getTime())) {
        throw new InvalidArgumentError(`since is ${shown(since)}; allowed: a Date`);
      }
      sourceDownSince ??= since;
    },
    sourceUp() {
      sourceDownSince = undefined;
    },

    ready: unsubscribe.then(() => undefined),
    get size() {
      return { entries: local?.size ?? 0, bytes: local?.calculatedSize ?? 0 };
    },
    async close() {
      const stop = await unsubscribe.catch(() => undefined);
      await stop?.();
      local?.clear();
    },
  };
};
