/** The checks of every registry argument, made once for the embedded store and the client (wrap-projections.ts). */
import { InvalidArgumentError } from '../../store/errors.js';
import { checkName, checkOptionsObject, checkPosition, shown } from '../../store/validate.js';
import type { ProjectionError, ProjectionProgress, ProjectionReplayOptions, RebuildInfo, RequestOutcome, RunnerReport } from './model.js';

/** As `defineProjection` names projections. */
const namePattern = /^[A-Za-z][A-Za-z0-9_-]{0,62}$/;
const maxVersion = 2 ** 31 - 1;
const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** RFC 3339: a date, a time and an offset (`Z` or `±hh:mm`). */
const rfc3339Pattern = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
/** A day: a runner that reports less often than that is not heartbeating. */
const maxHeartbeatSeconds = 86_400;

export const checkProjectionName = (name: unknown, what = 'name'): string => {
  if (typeof name === 'string' && namePattern.test(name)) return name;
  throw new InvalidArgumentError(
    `${what} is ${shown(name)}; allowed: a projection name (a letter, then up to 62 letters, digits, '-' or '_')`,
  );
};

export const checkProjectionVersion = (version: unknown, what = 'version'): number => {
  if (typeof version === 'number' && Number.isSafeInteger(version) && version >= 1 && version <= maxVersion) return version;
  throw new InvalidArgumentError(`${what} is ${shown(version)}; allowed: an integer from 1 to ${maxVersion}`);
};

export const checkRequestId = (requestId: unknown): string => {
  if (typeof requestId === 'string' && uuidPattern.test(requestId)) return requestId.toLowerCase();
  throw new InvalidArgumentError(`requestId is ${shown(requestId)}; allowed: a UUID`);
};

export const checkRunnerId = (runnerId: unknown, what = 'runnerId'): string => checkName(what, runnerId);

const checkTime = (value: unknown, what: string): string => {
  if (typeof value === 'string' && rfc3339Pattern.test(value) && !Number.isNaN(Date.parse(value))) return value;
  throw new InvalidArgumentError(`${what} is ${shown(value)}; allowed: an RFC 3339 time, e.g. 2026-01-31T12:00:00Z`);
};

/** Counts of events: integers, maybe beyond 2^53 (a range to the end of the log), so only approximately counted. */
const checkCount = (value: unknown, what: string): number => {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return value;
  throw new InvalidArgumentError(`${what} is ${shown(value)}; allowed: an integer >= 0`);
};

const checkRate = (value: unknown, what: string): number => {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value;
  throw new InvalidArgumentError(`${what} is ${shown(value)}; allowed: a number >= 0`);
};

const checkText = (value: unknown, what: string, maxLength = 10_000): string => {
  if (typeof value === 'string' && value.length <= maxLength) return value;
  throw new InvalidArgumentError(`${what} is ${shown(value)}; allowed: a string of at most ${maxLength} characters`);
};

const checkOneOf = <T extends string>(value: unknown, allowed: readonly T[], what: string): T => {
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  throw new InvalidArgumentError(`${what} is ${shown(value)}; allowed: ${allowed.join(', ')}`);
};

const checkObject = (value: unknown, allowed: string[], what: string): Record<string, unknown> => {
  if (value === undefined) throw new InvalidArgumentError(`${what} is missing; allowed: an object`);
  return checkOptionsObject(value, allowed, what);
};

export const checkReplayOptions = (options: unknown): ProjectionReplayOptions => {
  const given = checkOptionsObject(options, ['from', 'to', 'stream', 'category', 'fromTime', 'toTime', 'rebuild']);
  const checked: ProjectionReplayOptions = {
    ...(given.from === undefined ? {} : { from: checkPosition('from', given.from) }),
    ...(given.to === undefined ? {} : { to: checkPosition('to', given.to) }),
    ...(given.stream === undefined ? {} : { stream: checkName('stream', given.stream) }),
    ...(given.category === undefined ? {} : { category: checkName('category', given.category) }),
    ...(given.fromTime === undefined ? {} : { fromTime: checkTime(given.fromTime, 'fromTime') }),
    ...(given.toTime === undefined ? {} : { toTime: checkTime(given.toTime, 'toTime') }),
  };
  if (given.rebuild !== undefined && typeof given.rebuild !== 'boolean') {
    throw new InvalidArgumentError(`rebuild is ${shown(given.rebuild)}; allowed: true or false`);
  }
  if (checked.from !== undefined && checked.to !== undefined && checked.from > checked.to) {
    throw new InvalidArgumentError(`from is ${checked.from}; allowed: a position at most to (${checked.to})`);
  }
  if (checked.fromTime !== undefined && checked.toTime !== undefined && Date.parse(checked.fromTime) > Date.parse(checked.toTime)) {
    throw new InvalidArgumentError(`fromTime is '${checked.fromTime}'; allowed: a time at most toTime ('${checked.toTime}')`);
  }
  if (checked.stream !== undefined && checked.category !== undefined) {
    throw new InvalidArgumentError(
      `category is '${checked.category}' with stream '${checked.stream}'; allowed: a stream or a category, not both`,
    );
  }
  if (given.rebuild === true) {
    const subset = Object.keys(checked)[0];
    if (subset !== undefined) {
      throw new InvalidArgumentError(
        `${subset} is given with rebuild; allowed: none of from, to, stream, category, fromTime, toTime (a rebuild covers the whole source)`,
      );
    }
    return { rebuild: true };
  }
  return given.rebuild === false ? { ...checked, rebuild: false } : checked;
};

const checkProgress = (progress: unknown, what: string): ProjectionProgress => {
  const { done, total, etaSeconds } = checkObject(progress, ['done', 'total', 'etaSeconds'], what);
  return {
    done: checkCount(done, `${what}.done`),
    total: checkCount(total, `${what}.total`),
    etaSeconds: etaSeconds === null ? null : checkRate(etaSeconds, `${what}.etaSeconds`),
  };
};

const checkRebuild = (rebuild: unknown): RebuildInfo | null => {
  if (rebuild === null) return null;
  const { version, state, progress } = checkObject(rebuild, ['version', 'state', 'progress'], 'report.rebuild');
  return {
    version: checkProjectionVersion(version, 'report.rebuild.version'),
    state: checkOneOf(state, ['building', 'paused', 'switching'] as const, 'report.rebuild.state'),
    progress: checkProgress(progress, 'report.rebuild.progress'),
  };
};

const checkLastError = (lastError: unknown): ProjectionError | null => {
  if (lastError === null) return null;
  const { message, eventId, eventType, position } = checkObject(
    lastError,
    ['message', 'eventId', 'eventType', 'position'],
    'report.lastError',
  );
  return {
    message: checkText(message, 'report.lastError.message'),
    ...(eventId === undefined ? {} : { eventId: checkText(eventId, 'report.lastError.eventId', 255) }),
    ...(eventType === undefined ? {} : { eventType: checkText(eventType, 'report.lastError.eventType', 255) }),
    ...(position === undefined ? {} : { position: checkPosition('report.lastError.position', position) }),
  };
};

const reportFields = [
  'name',
  'runnerId',
  'version',
  'activeVersion',
  'state',
  'rebuild',
  'position',
  'lag',
  'rate',
  'progress',
  'lastError',
  'host',
  'heartbeatSeconds',
];

export const checkRunnerReport = (report: unknown): RunnerReport => {
  const given = checkObject(report, reportFields, 'report');
  const { heartbeatSeconds } = given;
  if (typeof heartbeatSeconds !== 'number' || !(heartbeatSeconds > 0) || heartbeatSeconds > maxHeartbeatSeconds) {
    throw new InvalidArgumentError(
      `report.heartbeatSeconds is ${shown(heartbeatSeconds)}; allowed: a number above 0, at most ${maxHeartbeatSeconds}`,
    );
  }
  return {
    name: checkProjectionName(given.name, 'report.name'),
    runnerId: checkRunnerId(given.runnerId, 'report.runnerId'),
    version: checkProjectionVersion(given.version, 'report.version'),
    activeVersion: given.activeVersion === null ? null : checkProjectionVersion(given.activeVersion, 'report.activeVersion'),
    state: checkOneOf(given.state, ['running', 'paused', 'failed', 'stopped'] as const, 'report.state'),
    rebuild: checkRebuild(given.rebuild),
    position: checkPosition('report.position', given.position),
    lag: checkCount(given.lag, 'report.lag'),
    rate: checkRate(given.rate, 'report.rate'),
    progress: checkProgress(given.progress, 'report.progress'),
    lastError: checkLastError(given.lastError),
    host: checkText(given.host, 'report.host', 255),
    heartbeatSeconds,
  };
};

export const checkOutcome = (outcome: unknown): RequestOutcome => {
  const { state, error, progress, runnerId } = checkObject(outcome, ['state', 'error', 'progress', 'runnerId'], 'outcome');
  return {
    state: checkOneOf(state, ['running', 'done', 'failed', 'cancelled'] as const, 'outcome.state'),
    ...(error === undefined ? {} : { error: checkText(error, 'outcome.error') }),
    ...(progress === undefined ? {} : { progress: checkProgress(progress, 'outcome.progress') }),
    ...(runnerId === undefined ? {} : { runnerId: checkRunnerId(runnerId, 'outcome.runnerId') }),
  };
};
