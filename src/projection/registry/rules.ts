/** The registry's rules, the same on every engine: what an engine checks atomically, and what is derived from reports. */
import { ConflictError, NotFoundError } from '../../store/errors.js';
import type { StoredReport } from './engine.js';
import type { ProjectionInfo, ProjectionRequest, ProjectionState, RequestOutcome } from './model.js';

/** Settled requests that `info` shows after the open ones. */
export const shownSettledRequests = 10;

/** Heartbeats without a report after which a runner is `stale`. */
export const staleAfterHeartbeats = 3;

const openStates: readonly ProjectionRequest['state'][] = ['pending', 'running'];
export const isOpen = (request: Pick<ProjectionRequest, 'state'>) => openStates.includes(request.state);

export const neverReported = (name: string) => new NotFoundError(`projection '${name}' is unknown: no runner ever reported it`);

export const openReplayConflict = (name: string, open: Pick<ProjectionRequest, 'requestId' | 'state'>) =>
  new ConflictError(`a replay of ${name} is ${open.state}: ${open.requestId}`);

export const unknownRequest = (name: string, requestId: string) => new NotFoundError(`projection '${name}' has no request '${requestId}'`);

/** Throws unless `outcome` may settle `request`: one that is running, by the runner that claimed it. */
export const checkSettle = (name: string, requestId: string, request: ProjectionRequest | undefined, outcome: RequestOutcome): void => {
  if (request === undefined) throw unknownRequest(name, requestId);
  if (request.state === 'pending') throw new ConflictError(`request '${requestId}' of ${name} is pending: a runner must claim it first`);
  if (!isOpen(request)) throw new ConflictError(`request '${requestId}' of ${name} is already ${request.state}`);
  if (outcome.runnerId !== undefined && outcome.runnerId !== request.claimedBy) {
    throw new ConflictError(`request '${requestId}' of ${name} was claimed by '${request.claimedBy}', not '${outcome.runnerId}'`);
  }
};

/** The request once `outcome` is applied (the engine stamps `updatedAt`). */
export const settled = (request: ProjectionRequest, outcome: RequestOutcome, now: Date): ProjectionRequest => ({
  ...request,
  state: outcome.state,
  error: outcome.error ?? (outcome.state === 'running' ? request.error : null),
  progress: outcome.progress ?? request.progress,
  updatedAt: now,
});

export const isStale = ({ report, heartbeatAt }: StoredReport, now: Date): boolean =>
  now.getTime() - heartbeatAt.getTime() > staleAfterHeartbeats * report.heartbeatSeconds * 1000;

/** The report that speaks for a projection: the freshest one. */
export const freshest = (reports: StoredReport[]): StoredReport | undefined =>
  reports.reduce<StoredReport | undefined>(
    (best, stored) => (best === undefined || stored.heartbeatAt > best.heartbeatAt ? stored : best),
    undefined,
  );

/** What `info` shows of a projection from its freshest report. */
export const infoOf = (stored: StoredReport, now: Date, requests: ProjectionRequest[]): ProjectionInfo => {
  const { heartbeatSeconds: _heartbeatSeconds, state, ...report } = stored.report;
  const shownState: ProjectionState = isStale(stored, now) ? 'stale' : state;
  return { ...report, state: shownState, heartbeatAt: stored.heartbeatAt, requests };
};
