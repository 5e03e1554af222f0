/**
 * The OpenAPI document as a generator needs it, made from what the routes declare: the shared shapes as
 * components referenced by name, every error typed `application/problem+json`, the NDJSON and SSE bodies
 * described, and an operation id on every call.
 */
import { DeliverySchema, GroupInfo, GroupSettingsSchema, ParkedPage, SettleResult } from './routes/groups.js';
import { ProjectionInfoSchema, ProjectionRequestSchema } from './routes/projections.js';
import { EventPage, Problem, RecordedEvent, StreamAcl, StreamMetadata } from './schemas.js';

type Json = Record<string, unknown>;

const components: Record<string, unknown> = {
  Problem,
  RecordedEvent,
  EventPage,
  StreamMetadata,
  StreamAcl,
  GroupSettings: GroupSettingsSchema,
  GroupInfo,
  Delivery: DeliverySchema,
  SettleResult,
  ParkedPage,
  ProjectionInfo: ProjectionInfoSchema,
  ProjectionRequest: ProjectionRequestSchema,
};

/** Operation ids by `METHOD path`: stable names for generated clients. */
const operationIds: Record<string, string> = {
  'POST /streams/{stream}': 'appendToStream',
  'GET /streams/{stream}': 'readStream',
  'DELETE /streams/{stream}': 'deleteStream',
  'GET /streams/{stream}/metadata': 'getStreamMetadata',
  'PUT /streams/{stream}/metadata': 'setStreamMetadata',
  'GET /streams': 'listStreams',
  'GET /acls': 'readAcls',
  'GET /all': 'readAll',
  'GET /events/{id}': 'readEvent',
  'GET /subscribe/streams/{stream}': 'subscribeToStream',
  'GET /subscribe/all': 'subscribeToAll',
  'PUT /groups/{group}': 'putGroup',
  'PATCH /groups/{group}': 'updateGroup',
  'GET /groups/{group}': 'getGroup',
  'DELETE /groups/{group}': 'deleteGroup',
  'GET /groups': 'listGroups',
  'POST /groups/{group}/pull': 'pullGroup',
  'POST /groups/{group}/ack': 'ackGroup',
  'POST /groups/{group}/nack': 'nackGroup',
  'POST /groups/{group}/extend': 'extendGroupLeases',
  'GET /groups/{group}/parked': 'listParked',
  'POST /groups/{group}/parked/replay': 'replayParked',
  'DELETE /groups/{group}/parked': 'deleteParked',
  'POST /groups/{group}/replay': 'replayGroup',
  'GET /subscribe/groups/{group}': 'subscribeToGroup',
  'GET /snapshots/{stream}': 'readSnapshot',
  'PUT /snapshots/{stream}': 'writeSnapshot',
  'DELETE /snapshots/{stream}': 'deleteSnapshots',
  'GET /projections': 'listProjections',
  'GET /projections/{name}': 'getProjection',
  'POST /projections/{name}/replay': 'replayProjection',
  'POST /projections/{name}/pause': 'pauseProjection',
  'POST /projections/{name}/resume': 'resumeProjection',
  'POST /projections/{name}/cancel': 'cancelProjection',
  'POST /projections/{name}/drop': 'dropProjectionVersion',
  'GET /projections/{name}/requests/{requestId}': 'getProjectionRequest',
  'PUT /projections/{name}/runners/{runnerId}': 'reportProjectionRunner',
  'POST /projections/{name}/claim': 'claimProjectionRequest',
  'POST /projections/{name}/requests/{requestId}/settle': 'settleProjectionRequest',
  'GET /health/live': 'live',
  'GET /health/ready': 'ready',
  'GET /health/writable': 'writable',
  'GET /metrics': 'metrics',
  'GET /stats': 'stats',
  'GET /identity': 'identity',
  'POST /import': 'importEvents',
  'POST /epoch': 'startEpoch',
  'POST /replica/promote': 'promoteReplica',
  'GET /backup': 'backup',
  'GET /': 'root',
};

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Replaces inline copies of the shared shapes by references to their components. */
const referenced = (schema: unknown): unknown => {
  for (const [name, component] of Object.entries(components))
    if (same(schema, JSON.parse(JSON.stringify(component)))) return { $ref: `#/components/schemas/${name}` };
  if (Array.isArray(schema)) return schema.map(referenced);
  if (typeof schema !== 'object' || schema === null) return schema;
  return Object.fromEntries(Object.entries(schema).map(([key, value]) => [key, referenced(value)]));
};

const ndjson = {
  description: 'with `Accept: application/x-ndjson`: every event, one JSON object a line',
  schema: { $ref: '#/components/schemas/RecordedEvent' },
};
const sse = {
  description:
    'Server-Sent Events: `id:` (a position) and `data:` (a RecordedEvent) per event, `event: caught-up` at the end of history, `event: checkpoint` (filtered `$all`), `event: problem` before a failure ends the stream, comments as heartbeats; resume with `Last-Event-ID`',
  schema: { type: 'string' },
};

const groupSse = {
  description:
    'Server-Sent Events: `event: delivery` with a Delivery (`{ id, attempt, replay, event }`) as `data:`, `event: problem` before a failure ends the stream, comments as heartbeats',
  schema: { type: 'string' },
};

const backupContent = {
  'application/vnd.sqlite3': { description: 'on SQLite: the database file', schema: { type: 'string', format: 'binary' } },
  'application/x-ndjson': {
    description:
      'elsewhere: a header line `{"annals":"export",storeId,epoch,epochStart,headPosition}`, then every event of the log, system events included',
    schema: { type: 'string' },
  },
};

export const toOpenApiDocument = (document: Json): Json => {
  const paths = document.paths as Record<string, Record<string, Json>>;
  for (const [path, operations] of Object.entries(paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      const id = operationIds[`${method.toUpperCase()} ${path}`];
      if (id !== undefined) operation.operationId = id;
      const responses = (operation.responses ?? {}) as Record<string, { content?: Record<string, unknown>; description?: string }>;
      for (const [status, response] of Object.entries(responses)) {
        if (/^[45]/.test(status) && response.content?.['application/json'] !== undefined) {
          response.content = { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } };
        }
      }
      if (id === 'readStream' || id === 'readAll')
        responses['200']!.content = { ...responses['200']!.content, 'application/x-ndjson': ndjson };
      if (id === 'subscribeToStream' || id === 'subscribeToAll')
        responses['200'] = { description: 'a stream of events', content: { 'text/event-stream': sse } };
      if (id === 'backup') responses['200'] = { description: 'a consistent copy of the whole store', content: backupContent };
      if (id === 'subscribeToGroup')
        responses['200'] = { description: 'a stream of deliveries', content: { 'text/event-stream': groupSse } };
    }
  }
  const schemas = {
    ...((document.components as Json | undefined)?.schemas as Json | undefined),
    ...JSON.parse(JSON.stringify(components)),
  };
  return { ...document, paths: referenced(paths), components: { ...(document.components as Json), schemas } };
};
