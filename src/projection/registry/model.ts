/**
 * The projection registry (DESIGN.md section 9): where projection runners, wherever they run, report what
 * they are doing, and where any tool (command line, HTTP, UI) asks them to replay, pause, resume, cancel or
 * drop. It lives in the event store's engine (`store.projections`), so it is seen and steered through the
 * same API as the log, locally or over HTTP. Runners register, heartbeat, report and claim requests through
 * the runner half of the interface.
 */

/** What the registry says of a projection. `stale`: its runner has not reported for three heartbeats. */
export type ProjectionState = 'running' | 'paused' | 'failed' | 'stopped' | 'stale';

export interface ProjectionProgress {
  /** Events applied of the work under way (a rebuild, a replay, or catching up). */
  done: number;
  total: number;
  /** At the current rate; null when unknown (no rate yet, or nothing left). */
  etaSeconds: number | null;
}

export interface ProjectionError {
  message: string;
  eventId?: string;
  eventType?: string;
  position?: bigint;
}

/** A rebuild under way: a new build of the projection filling beside the serving one. */
export interface RebuildInfo {
  version: number;
  state: 'building' | 'paused' | 'switching';
  progress: ProjectionProgress;
}

/** What a runner reports at every heartbeat (the registry keeps the last report of each runner). */
export interface RunnerReport {
  name: string;
  /** Unique per runner process and projection; the registry keeps one report per (name, runnerId). */
  runnerId: string;
  /** The version of the handlers this runner runs. */
  version: number;
  /** The version whose build serves queries, as the runner last saw it; null before any build is active. */
  activeVersion: number | null;
  state: 'running' | 'paused' | 'failed' | 'stopped';
  rebuild: RebuildInfo | null;
  /** The position of the last event applied to the serving build. */
  position: bigint;
  /** Events of the projection's source between `position` and the head of the log. */
  lag: number;
  /** Events per second applied over the last heartbeat. */
  rate: number;
  progress: ProjectionProgress;
  lastError: ProjectionError | null;
  host: string;
  /** Seconds between reports: the registry calls a runner stale after three without one. */
  heartbeatSeconds: number;
}

export interface ProjectionInfo extends Omit<RunnerReport, 'runnerId' | 'state' | 'heartbeatSeconds'> {
  runnerId: string;
  state: ProjectionState;
  /** When the runner last reported (the registry's clock). */
  heartbeatAt: Date;
  /** Requests not yet done, then the last few done, newest first. */
  requests: ProjectionRequest[];
}

/** What a replay covers. With `rebuild`, the whole source into a new build; otherwise a subset into the serving build. */
export interface ProjectionReplayOptions {
  /** Positions, inclusive; the whole log when both are absent. */
  from?: bigint;
  to?: bigint;
  stream?: string;
  category?: string;
  /** RFC 3339 times, on `recordedAt` (approximate on PostgreSQL: the transaction's start). */
  fromTime?: string;
  toTime?: string;
  /** Rebuild from scratch into a new build beside the serving one, then switch to it. */
  rebuild?: boolean;
}

export type ProjectionRequestKind = 'replay' | 'pause' | 'resume' | 'cancel' | 'drop';

/**
 * A request written to the registry: `pending` until a runner of the projection claims it (`running`),
 * then `done`, `failed` (with `error`) or `cancelled`.
 */
export interface ProjectionRequest {
  requestId: string;
  name: string;
  kind: ProjectionRequestKind;
  /** `replay`: what to replay; `drop`: `{ version }`; otherwise `{}`. */
  options: ProjectionReplayOptions | { version: number } | Record<string, never>;
  state: 'pending' | 'running' | 'done' | 'failed' | 'cancelled';
  createdAt: Date;
  updatedAt: Date;
  claimedBy: string | null;
  error: string | null;
  /** Reported by the runner while the request runs. */
  progress: ProjectionProgress | null;
}

/** How a runner settles a request it claimed. */
export interface RequestOutcome {
  state: 'running' | 'done' | 'failed' | 'cancelled';
  error?: string;
  progress?: ProjectionProgress;
  /**
   * The runner settling: when given, the registry refuses (a `conflict`) a settle by any runner other
   * than the one that claimed the request. Runners should always give it.
   */
  runnerId?: string;
}

export interface Projections {
  /** Every projection a runner ever reported, by name. */
  list(): Promise<ProjectionInfo[]>;
  /** `not_found` when no runner ever reported it. */
  info(name: string): Promise<ProjectionInfo>;
  /**
   * Asks the projection's runner to replay. A `conflict` when a replay of the projection is pending or
   * running; `not_found` for a projection no runner reported.
   */
  replay(name: string, options?: ProjectionReplayOptions): Promise<{ requestId: string }>;
  pause(name: string): Promise<{ requestId: string }>;
  resume(name: string): Promise<{ requestId: string }>;
  /** Cancels the replay or rebuild under way (a rebuild's partial build is dropped). */
  cancel(name: string): Promise<{ requestId: string }>;
  /** Drops a version's builds that no longer serve (`conflict` for the serving version). */
  drop(name: string, version: number): Promise<{ requestId: string }>;
  /** A request, to follow it; `not_found` when unknown. */
  request(name: string, requestId: string): Promise<ProjectionRequest>;

  /** Runner side: registers on the first call, then heartbeats. */
  report(report: RunnerReport): Promise<void>;
  /** Runner side: takes the oldest pending request of the projection, marking it `running` by this runner. */
  claim(name: string, runnerId: string): Promise<ProjectionRequest | undefined>;
  /** Runner side: reports progress on, or settles, a request it claimed. */
  settle(name: string, requestId: string, outcome: RequestOutcome): Promise<void>;
}
