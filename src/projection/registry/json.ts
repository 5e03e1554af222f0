/**
 * The registry's JSON forms, shared by the engines (which store reports and options as JSON text) and the
 * wire: positions are strings of decimal digits, times RFC 3339.
 */
import type {
  ProjectionError,
  ProjectionInfo,
  ProjectionProgress,
  ProjectionReplayOptions,
  ProjectionRequest,
  ProjectionRequestKind,
  RunnerReport,
} from './model.js';

export interface ProjectionErrorJson extends Omit<ProjectionError, 'position'> {
  position?: string;
}

export interface RunnerReportJson extends Omit<RunnerReport, 'position' | 'lastError'> {
  position: string;
  lastError: ProjectionErrorJson | null;
}

interface ReplayOptionsJson extends Omit<ProjectionReplayOptions, 'from' | 'to'> {
  from?: string;
  to?: string;
}

type RequestOptionsJson = ReplayOptionsJson | { version: number } | Record<string, never>;

export interface ProjectionRequestJson extends Omit<ProjectionRequest, 'options' | 'createdAt' | 'updatedAt'> {
  options: RequestOptionsJson;
  createdAt: string;
  updatedAt: string;
}

export interface ProjectionInfoJson extends Omit<ProjectionInfo, 'position' | 'lastError' | 'heartbeatAt' | 'requests'> {
  position: string;
  lastError: ProjectionErrorJson | null;
  heartbeatAt: string;
  requests: ProjectionRequestJson[];
}

const errorToJson = ({ position, ...error }: ProjectionError): ProjectionErrorJson => ({
  ...error,
  ...(position === undefined ? {} : { position: String(position) }),
});

const errorFromJson = ({ position, ...error }: ProjectionErrorJson): ProjectionError => ({
  ...error,
  ...(position === undefined ? {} : { position: BigInt(position) }),
});

export const reportToJson = ({ position, lastError, ...report }: RunnerReport): RunnerReportJson => ({
  ...report,
  position: String(position),
  lastError: lastError === null ? null : errorToJson(lastError),
});

export const reportFromJson = ({ position, lastError, ...report }: RunnerReportJson): RunnerReport => ({
  ...report,
  position: BigInt(position),
  lastError: lastError === null ? null : errorFromJson(lastError),
});

export const replayOptionsToJson = ({ from, to, ...options }: ProjectionReplayOptions): ReplayOptionsJson => ({
  ...options,
  ...(from === undefined ? {} : { from: String(from) }),
  ...(to === undefined ? {} : { to: String(to) }),
});

export const replayOptionsFromJson = ({ from, to, ...options }: ReplayOptionsJson): ProjectionReplayOptions => ({
  ...options,
  ...(from === undefined ? {} : { from: BigInt(from) }),
  ...(to === undefined ? {} : { to: BigInt(to) }),
});

export const requestOptionsToJson = (kind: ProjectionRequestKind, options: ProjectionRequest['options']): RequestOptionsJson =>
  kind === 'replay' ? replayOptionsToJson(options as ProjectionReplayOptions) : (options as RequestOptionsJson);

const requestOptionsFromJson = (kind: ProjectionRequestKind, options: RequestOptionsJson): ProjectionRequest['options'] =>
  kind === 'replay' ? replayOptionsFromJson(options as ReplayOptionsJson) : (options as ProjectionRequest['options']);

export const requestToJson = ({ options, createdAt, updatedAt, ...request }: ProjectionRequest): ProjectionRequestJson => ({
  ...request,
  options: requestOptionsToJson(request.kind, options),
  createdAt: createdAt.toISOString(),
  updatedAt: updatedAt.toISOString(),
});

export const requestFromJson = ({ options, createdAt, updatedAt, ...request }: ProjectionRequestJson): ProjectionRequest => ({
  ...request,
  options: requestOptionsFromJson(request.kind, options),
  createdAt: new Date(createdAt),
  updatedAt: new Date(updatedAt),
});

export const projectionInfoToJson = ({ position, lastError, heartbeatAt, requests, ...info }: ProjectionInfo): ProjectionInfoJson => ({
  ...info,
  position: String(position),
  lastError: lastError === null ? null : errorToJson(lastError),
  heartbeatAt: heartbeatAt.toISOString(),
  requests: requests.map(requestToJson),
});

export const projectionInfoFromJson = ({ position, lastError, heartbeatAt, requests, ...info }: ProjectionInfoJson): ProjectionInfo => ({
  ...info,
  position: BigInt(position),
  lastError: lastError === null ? null : errorFromJson(lastError),
  heartbeatAt: new Date(heartbeatAt),
  requests: requests.map(requestFromJson),
});

/** A request as an engine keeps it in a row: options and progress as JSON text, times in ms since the epoch. */
export interface RequestRow {
  requestId: string;
  name: string;
  kind: ProjectionRequestKind;
  options: string;
  state: ProjectionRequest['state'];
  createdAt: number;
  updatedAt: number;
  claimedBy: string | null;
  error: string | null;
  progress: string | null;
}

export const requestFromRow = (row: RequestRow): ProjectionRequest => ({
  ...row,
  options: requestOptionsFromJson(row.kind, JSON.parse(row.options) as RequestOptionsJson),
  createdAt: new Date(row.createdAt),
  updatedAt: new Date(row.updatedAt),
  progress: row.progress === null ? null : (JSON.parse(row.progress) as ProjectionProgress),
});
