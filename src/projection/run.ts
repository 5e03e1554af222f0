/**
 * The projection runner and the replay service around it. A runner feeds the projection's serving build
 * from the log; when the read model's active build is of another version (new handlers) or a rebuild is
 * asked for, it fills a new build beside the serving one, throttled, and switches queries to it in one
 * read-model transaction once it has caught up (blue/green). It replays subsets into the serving build,
 * pauses, resumes and cancels, and, given a registry, reports there and carries out the requests written
 * there. A handler that throws stops the runner (or fails the rebuild) with its error visible; the event
 * is never skipped. A runner that finds a checkpoint moved by another runner stops (fencing).
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { EventStore } from '../store/event-store.js';
import {
  headOf,
  sleep,
  feedLive,
  feedSubset,
  HandlerError,
  trackBuild,
  type FeedSettings,
  type LiveFeed,
  type TrackedBuild,
} from './feed.js';
import type { Build, Projection, ProjectionCommit, ReadModel } from './model.js';
import type {
  ProjectionError,
  ProjectionProgress,
  ProjectionReplayOptions,
  ProjectionRequest,
  Projections,
  RunnerReport,
} from './registry/model.js';

export type RunnerState = 'catching-up' | 'live' | 'paused' | 'failed' | 'fenced' | 'stopped';

export interface RunnerStatus {
  name: string;
  version: number;
  state: RunnerState;
  /** The serving build this runner feeds (none while its version is rebuilt beside another's). */
  build?: number;
  /** The position of the last event applied to the serving build and committed. */
  position: bigint;
  /** A new build filling beside the serving one. */
  rebuild?: { build: number; version: number; position: bigint; live: boolean };
  /** A subset replay into the serving build. */
  replay?: { from: bigint; to: bigint; reached: bigint };
  /** What stopped a failed runner, or failed its last rebuild: the error, with the event it failed on. */
  lastError?: ProjectionError;
}

export interface ProjectionRunner {
  status(): RunnerStatus;
  /** Settles when the runner stops: closed, failed or fenced (`status()` says which). */
  readonly done: Promise<void>;
  /** Rebuilds the projection into a new build and switches to it; settles when switched. */
  rebuild(): Promise<void>;
  /** Replays part of the log into the serving build (`context.replay` set); settles when done. */
  replay(options: Omit<ProjectionReplayOptions, 'rebuild'>): Promise<void>;
  pause(): void;
  resume(): void;
  /** Stops the rebuild or replay under way; a rebuild's build is dropped. */
  cancel(): Promise<void>;
  /** Stops after the batch under way is committed. */
  close(): Promise<void>;
}

export interface RunOptions {
  /** Most events in one read-model transaction while catching up; default 1000. */
  batchSize?: number;
  /** Events per second at most for rebuilds and replays, so live traffic keeps its latency; unlimited by default. */
  replayRate?: number;
  /** Hears every commit: the keys handlers invalidated, and switches of builds (for caches). */
  onCommit?: (commit: ProjectionCommit) => void;
  /** Where to report and find requests; none by default. `runProjections` passes `store.projections`. */
  registry?: Projections;
  /** Where failures, switches and requests are logged (a pino logger fits); nowhere by default. */
  logger?: ProjectionLogger;
  /** Seconds between reports to the registry; default 5. */
  heartbeatSeconds?: number;
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(reason: unknown): void;
}

/** A promise with its settling functions (Promise.withResolvers, which Node 20 lacks). */
const deferred = <T>(): Deferred<T> => {
  const settlers: Partial<Deferred<T>> = {};
  const promise = new Promise<T>((resolve, reject) => Object.assign(settlers, { resolve, reject }));
  return { promise, resolve: settlers.resolve!, reject: settlers.reject! };
};

/** The work was cancelled by a request or `cancel()`. */
class CancelledError extends Error {
  constructor() {
    super('cancelled');
  }
}

/** The part of a logger (pino's shape) a runner writes to. */
export interface ProjectionLogger {
  info(details: object, message: string): void;
  error(details: object, message: string): void;
}

type Work = { request?: ProjectionRequest; cancel: AbortController; done: Promise<void> };

/** An error as log details: its position as a string (JSON has no bigint). */
const loggable = ({ position, ...rest }: ProjectionError) => ({
  ...rest,
  ...(position === undefined ? {} : { position: String(position) }),
});

const errorOf = (error: unknown): ProjectionError =>
  error instanceof HandlerError
    ? { message: error.message, eventId: error.event.id, eventType: error.event.type, position: error.event.position }
    : { message: error instanceof Error ? error.message : String(error) };

export const runProjection = <Db>(
  store: EventStore,
  projection: Projection<Db>,
  readModel: ReadModel<Db>,
  { batchSize = 1000, replayRate, onCommit = () => undefined, registry, heartbeatSeconds = 5, logger }: RunOptions = {},
): ProjectionRunner => {
  const { name, version } = projection;
  const runnerId = `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  const controller = new AbortController();
  const status: RunnerStatus = { name, version, state: 'catching-up', position: 0n };
  let paused: Deferred<void> | undefined;
  const gate = () => paused?.promise ?? Promise.resolve();
  const settings = (signal: AbortSignal, rate?: number): FeedSettings<Db> => ({
    store,
    projection,
    readModel,
    batchSize,
    onCommit,
    gate,
    signal,
    ...(rate === undefined ? {} : { rate }),
  });

  let serving: { tracked: TrackedBuild; feed: LiveFeed; stop: AbortController } | undefined;
  let rebuilding: (Work & { tracked: TrackedBuild; feed: LiveFeed }) | undefined;
  let replaying: (Work & { subset: { from: bigint; to: bigint; reached: bigint } }) | undefined;
  const failure: Deferred<never> = deferred();
  failure.promise.catch(() => undefined);

  const serve = (tracked: TrackedBuild) => {
    const stop = new AbortController();
    const signal = AbortSignal.any([controller.signal, stop.signal]);
    const feed = feedLive(settings(signal), tracked, async () => {
      status.position = tracked.build.position;
      if (status.state === 'catching-up' && feed.live) status.state = 'live';
    });
    serving = { tracked, feed, stop };
    status.build = tracked.build.build;
    status.position = tracked.build.position;
    feed.done.then(
      (ended) =>
        ended === 'fenced' &&
        stopWith('fenced', `another runner of ${name} build ${tracked.build.build} moved its checkpoint past ${tracked.build.position}`),
      (error: unknown) => stopWith('failed', error),
    );
  };

  const stopWith = (state: 'failed' | 'fenced', error: unknown) => {
    status.state = state;
    status.lastError = typeof error === 'string' ? { message: error } : errorOf(error);
    logger?.error(
      { projection: name, version, ...loggable(status.lastError) },
      `projection ${name} ${state === 'failed' ? 'failed' : 'was fenced'}`,
    );
    failure.reject(error);
    controller.abort();
  };

  /** Fills `tracked` beside the serving build and switches to it once it has caught up. */
  const rebuildInto = (tracked: TrackedBuild, request?: ProjectionRequest): Promise<void> => {
    const cancel = new AbortController();
    const signal = AbortSignal.any([controller.signal, cancel.signal]);
    const switched = deferred<void>();
    const trySwitch = async () => {
      if (!feed.live || !(await readModel.activate(tracked.build))) return;
      cancel.abort();
      const previous = serving;
      onCommit({ ...tracked.build, keys: [], activated: true });
      rebuilding = undefined;
      if (previous !== undefined) {
        previous.stop.abort();
        await previous.feed.done.catch(() => undefined);
        if (previous.tracked.build.version === version) await readModel.drop(previous.tracked.build);
      }
      const build: Build = { ...tracked.build, active: true };
      serve(trackBuild(build));
      if (status.state !== 'paused') status.state = 'live';
      logger?.info(
        { projection: name, version: build.version, build: build.build, position: String(build.position) },
        `projection ${name} switched to build ${build.build}`,
      );
      switched.resolve();
    };
    const feed = feedLive(settings(signal, replayRate), tracked, trySwitch);
    const done = feed.done.then(
      async (ended) => {
        if (ended === 'fenced') throw new Error(`another runner moved the checkpoint of ${name} build ${tracked.build.build}`);
        if (rebuilding?.tracked !== tracked) return;
        rebuilding = undefined;
        await readModel.drop(tracked.build);
        throw controller.signal.aborted ? new Error('the runner stopped') : new CancelledError();
      },
      async (error: unknown) => {
        rebuilding = undefined;
        status.lastError = errorOf(error);
        logger?.error(
          { projection: name, version: tracked.build.version, build: tracked.build.build, ...loggable(status.lastError) },
          `rebuild of ${name} failed`,
        );
        await readModel.drop(tracked.build);
        if (serving === undefined) stopWith('failed', error);
        throw error;
      },
    );
    done.catch(() => undefined);
    rebuilding = { tracked, feed, cancel, done, ...(request === undefined ? {} : { request }) };
    return Promise.race([switched.promise, done]);
  };

  /** Feeds the build that serves this version, or fills the version's build until it can; resumes a rebuild a stop cut short. */
  const start = async () => {
    const build = await readModel.open(projection);
    if (!build.active) return void rebuildInto(trackBuild(build)).catch(() => undefined);
    serve(trackBuild(build));
    const others = (await readModel.builds(name)).filter((other) => other.version === version && other.build !== build.build);
    const unfinished = others.filter((other) => other.build > build.build).at(-1);
    // Builds below the serving one were replaced by a rebuild that stopped before dropping them; other
    // unfinished ones were left behind by a newer rebuild.
    for (const left of others.filter((other) => other !== unfinished)) await readModel.drop(left);
    if (unfinished !== undefined) void rebuildInto(trackBuild(unfinished)).catch(() => undefined);
  };

  const rebuildStatus = ({ tracked, feed }: { tracked: TrackedBuild; feed: LiveFeed }) => ({
    build: tracked.build.build,
    version: tracked.build.version,
    position: tracked.build.position,
    live: feed.live,
  });

  const replaySubset = (options: Omit<ProjectionReplayOptions, 'rebuild'>, request?: ProjectionRequest): Promise<void> => {
    if (serving === undefined) return Promise.reject(new Error(`${name} has no serving build of version ${version} to replay into`));
    if (replaying !== undefined) return Promise.reject(new Error(`a replay of ${name} is under way`));
    const tracked = serving.tracked;
    const to = options.to === undefined || options.to > tracked.build.position ? tracked.build.position : options.to;
    const subset = { from: options.from ?? 1n, to, reached: options.from ?? 0n };
    const cancel = new AbortController();
    const signal = AbortSignal.any([controller.signal, cancel.signal]);
    const done = feedSubset(
      settings(signal, replayRate),
      tracked,
      {
        from: subset.from,
        to,
        ...(options.stream === undefined ? {} : { stream: options.stream }),
        ...(options.category === undefined ? {} : { category: options.category }),
        ...(options.fromTime === undefined ? {} : { fromTime: new Date(options.fromTime) }),
        ...(options.toTime === undefined ? {} : { toTime: new Date(options.toTime) }),
      },
      (reached) => (subset.reached = reached),
    ).then(
      (ok) => {
        replaying = undefined;
        if (!ok) throw new Error(`another runner moved the checkpoint of ${name} build ${tracked.build.build}`);
        if (cancel.signal.aborted) throw new CancelledError();
      },
      (error: unknown) => {
        replaying = undefined;
        status.lastError = errorOf(error);
        throw error;
      },
    );
    replaying = { cancel, done, subset, ...(request === undefined ? {} : { request }) };
    return done;
  };

  const rebuild = async (request?: ProjectionRequest) => {
    await started;
    if (rebuilding !== undefined) throw new Error(`a rebuild of ${name} is under way`);
    return rebuildInto(trackBuild(await readModel.create(projection)), request);
  };

  const pause = () => {
    paused ??= deferred();
    if (status.state === 'catching-up' || status.state === 'live') status.state = 'paused';
  };
  const resume = () => {
    paused?.resolve();
    paused = undefined;
    if (status.state === 'paused') status.state = serving?.feed.live ? 'live' : 'catching-up';
  };
  const cancel = async () => {
    const under = [rebuilding, replaying].filter((work) => work !== undefined);
    for (const work of under) {
      work.cancel.abort();
      await work.done.catch(() => undefined);
    }
    return under.length;
  };

  /** Carries out a request claimed from the registry, settling it there. */
  const carryOut = async (to: Projections, request: ProjectionRequest): Promise<void> => {
    const settle = (state: 'running' | 'done' | 'failed' | 'cancelled', error?: unknown) =>
      to.settle(name, request.requestId, {
        state,
        runnerId,
        ...(error === undefined ? {} : { error: error instanceof Error ? error.message : String(error) }),
      });
    try {
      if (request.kind === 'replay') {
        const options = request.options as ProjectionReplayOptions;
        await settle('running');
        await (options.rebuild === true ? rebuild(request) : (await started, replaySubset(options, request)));
      } else if (request.kind === 'pause') pause();
      else if (request.kind === 'resume') resume();
      else if (request.kind === 'cancel') {
        if ((await cancel()) === 0) throw new Error(`no replay or rebuild of ${name} is under way`);
      } else await dropVersion((request.options as { version: number }).version);
      await settle('done');
      logger?.info({ projection: name, requestId: request.requestId, kind: request.kind }, `${request.kind} of ${name} done`);
    } catch (error) {
      logger?.error(
        { projection: name, requestId: request.requestId, kind: request.kind, error: String(error) },
        `${request.kind} of ${name} ended`,
      );
      await settle(error instanceof CancelledError ? 'cancelled' : 'failed', error).catch(() => undefined);
    }
  };

  const dropVersion = async (dropped: number) => {
    const builds = (await readModel.builds(name)).filter((build) => build.version === dropped);
    if (builds.some((build) => build.active)) throw new Error(`version ${dropped} of ${name} serves queries`);
    const building = rebuilding?.tracked.build.build;
    for (const build of builds) if (build.build !== building) await readModel.drop(build);
  };

  const progressOf = (done: bigint, total: bigint, rate: number): ProjectionProgress => {
    const [finished, all] = [Math.max(0, Number(done)), Math.max(0, Number(total))];
    const left = all - finished;
    return { done: finished, total: all, etaSeconds: rate > 0 && left > 0 ? Math.ceil(left / rate) : null };
  };

  /** Heartbeats: reports to the registry, and claims and carries out its requests, until the runner stops. */
  const report = async (to: Projections): Promise<void> => {
    const host = hostname();
    let counted = { applied: 0, at: Date.now() };
    const startedAt = status.position;
    const applied = () => (serving?.feed.applied ?? 0) + (rebuilding?.feed.applied ?? 0);
    const once = async () => {
      const [head, builds] = await Promise.all([headOf(store), readModel.builds(name)]);
      const now = { applied: applied(), at: Date.now() };
      const rate = Math.max(0, Math.round(((now.applied - counted.applied) * 1000) / Math.max(1, now.at - counted.at)));
      counted = now;
      const position = serving?.tracked.build.position ?? rebuilding?.tracked.build.position ?? 0n;
      const rebuild = rebuilding === undefined ? null : rebuildStatus(rebuilding);
      const state =
        status.state === 'failed' || status.state === 'fenced'
          ? 'failed'
          : status.state === 'stopped'
            ? 'stopped'
            : paused
              ? 'paused'
              : 'running';
      const report: RunnerReport = {
        name,
        runnerId,
        version,
        activeVersion: builds.find((build) => build.active)?.version ?? null,
        state,
        rebuild:
          rebuild === null
            ? null
            : {
                version: rebuild.version,
                state: paused ? 'paused' : rebuild.live ? 'switching' : 'building',
                progress: progressOf(rebuild.position, head, rate),
              },
        position,
        lag: Number(head > position ? head - position : 0n),
        rate,
        progress:
          replaying !== undefined
            ? progressOf(replaying.subset.reached - replaying.subset.from, replaying.subset.to - replaying.subset.from, rate)
            : progressOf(position - startedAt, head - startedAt, rate),
        lastError: status.lastError ?? null,
        host,
        heartbeatSeconds,
      };
      await to.report(report);
      for (const work of [rebuilding, replaying]) {
        if (work?.request !== undefined)
          await to.settle(name, work.request.requestId, {
            state: 'running',
            runnerId,
            progress: work === rebuilding ? report.rebuild!.progress : report.progress,
          });
      }
    };
    while (!controller.signal.aborted) {
      try {
        await once();
        for (let request = await to.claim(name, runnerId); request !== undefined; request = await to.claim(name, runnerId)) {
          void carryOut(to, request);
        }
      } catch {
        // The registry is out of reach: the runner goes on and reports at its next heartbeat.
      }
      await sleep(heartbeatSeconds * 1000, controller.signal);
    }
    await done.catch(() => undefined);
    await once().catch(() => undefined);
  };

  const started = start();
  started.catch((error: unknown) => stopWith('failed', error));
  const done = (async () => {
    await started.catch(() => undefined);
    await Promise.race([
      failure.promise.catch(() => undefined),
      new Promise((resolve) => controller.signal.addEventListener('abort', resolve, { once: true })),
    ]);
    await Promise.allSettled([serving?.feed.done, rebuilding?.done, replaying?.done]);
    if (status.state !== 'failed' && status.state !== 'fenced') status.state = 'stopped';
  })();
  const reporting = registry === undefined ? Promise.resolve() : report(registry);

  return {
    status: () => ({
      ...status,
      ...(rebuilding === undefined ? {} : { rebuild: rebuildStatus(rebuilding) }),
      ...(replaying === undefined ? {} : { replay: { ...replaying.subset } }),
    }),
    done,
    rebuild: () => rebuild(),
    async replay(options) {
      await started;
      return replaySubset(options);
    },
    pause,
    resume,
    cancel: async () => void (await cancel()),
    async close() {
      controller.abort();
      resume();
      await done;
      await reporting;
    },
  };
};
