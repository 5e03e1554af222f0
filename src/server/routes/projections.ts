/**
 * The projection registry over HTTP (DESIGN.md section 9): what runners report, the requests tools write to
 * them (answered 202 with a `requestId`), and the runner side (report, claim, settle).
 *
 * Who may do what: a projection reads whatever part of the log its source names, so the registry speaks of
 * the whole server, as /stats does. Reading it (list, info, a request) takes a token of any role that is
 * not limited to stream prefixes; controlling projections (replay, pause, resume, cancel, drop) takes an
 * admin, as managing and replaying consumer groups does, and so does the runner side, since a runner that
 * claims a request carries it out; a token limited to prefixes may do neither, as it may not see the whole
 * log a projection may read.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { checkAccess } from '../../auth/access.js';
import { projectionInfoToJson, replayOptionsFromJson, reportFromJson, requestToJson, type RunnerReportJson } from '../../protocol/wire.js';
import type { RequestOutcome } from '../../projection/registry/model.js';
import { InvalidArgumentError } from '../../store/errors.js';
import type { RouteContext } from '../context.js';
import { Problem } from '../schemas.js';

const problems = { '4xx': Problem, '5xx': Problem };
const tags = ['projections'];
const strict = { additionalProperties: false } as const;

const positionPattern = '^(0|[1-9][0-9]{0,18})$';
const Position = Type.String({ pattern: positionPattern, description: 'a position (digits)' });
const Name = Type.String({ minLength: 1, maxLength: 1024, description: 'a projection name' });
const Count = Type.Integer({ minimum: 0 });
/** Enumerations as `enum`, so that the OpenAPI document shows them as declared here. */
const oneOf = <T extends string>(values: readonly T[]) => Type.Unsafe<T>({ type: 'string', enum: [...values] });

const ProjectionParams = Type.Object({ name: Name });
const RequestParams = Type.Object({ name: Name, requestId: Type.String({ minLength: 1, maxLength: 64 }) });
const RunnerParams = Type.Object({ name: Name, runnerId: Type.String({ minLength: 1, maxLength: 1024 }) });

const Progress = Type.Object(
  { done: Count, total: Count, etaSeconds: Type.Union([Type.Number({ minimum: 0 }), Type.Null()]) },
  { ...strict, description: 'events applied of the work under way' },
);

const ProjectionError = Type.Object(
  {
    message: Type.String(),
    eventId: Type.Optional(Type.String()),
    eventType: Type.Optional(Type.String()),
    position: Type.Optional(Position),
  },
  strict,
);

const Rebuild = Type.Object(
  { version: Type.Integer({ minimum: 1 }), state: oneOf(['building', 'paused', 'switching'] as const), progress: Progress },
  strict,
);

const ReplayOptions = Type.Object(
  {
    from: Type.Optional(Position),
    to: Type.Optional(Position),
    stream: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
    category: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
    fromTime: Type.Optional(Type.String({ description: 'an RFC 3339 time, on recordedAt' })),
    toTime: Type.Optional(Type.String({ description: 'an RFC 3339 time, on recordedAt' })),
    rebuild: Type.Optional(Type.Boolean()),
  },
  strict,
);

export const ProjectionRequestSchema = Type.Object({
  requestId: Type.String(),
  name: Type.String(),
  kind: oneOf(['replay', 'pause', 'resume', 'cancel', 'drop'] as const),
  options: Type.Union([ReplayOptions, Type.Object({ version: Type.Integer() }, strict)], {
    description: 'replay: what to replay; drop: { version }; otherwise {}',
  }),
  state: oneOf(['pending', 'running', 'done', 'failed', 'cancelled'] as const),
  createdAt: Type.String(),
  updatedAt: Type.String(),
  claimedBy: Type.Union([Type.String(), Type.Null()]),
  error: Type.Union([Type.String(), Type.Null()]),
  progress: Type.Union([Progress, Type.Null()]),
});

export const ProjectionInfoSchema = Type.Object({
  name: Type.String(),
  runnerId: Type.String(),
  version: Type.Integer(),
  activeVersion: Type.Union([Type.Integer(), Type.Null()]),
  state: oneOf(['running', 'paused', 'failed', 'stopped', 'stale'] as const),
  rebuild: Type.Union([Rebuild, Type.Null()]),
  position: Type.String({ description: 'a position (digits)' }),
  lag: Type.Integer(),
  rate: Type.Number(),
  progress: Progress,
  lastError: Type.Union([ProjectionError, Type.Null()]),
  host: Type.String(),
  heartbeatAt: Type.String(),
  requests: Type.Array(ProjectionRequestSchema),
});

/** A runner's report as its body gives it; `name` and `runnerId` come from the path (and must match when given). */
const ReportBody = Type.Object(
  {
    name: Type.Optional(Name),
    runnerId: Type.Optional(Type.String()),
    version: Type.Integer(),
    activeVersion: Type.Union([Type.Integer(), Type.Null()]),
    state: oneOf(['running', 'paused', 'failed', 'stopped'] as const),
    rebuild: Type.Union([Rebuild, Type.Null()]),
    position: Position,
    lag: Count,
    rate: Type.Number({ minimum: 0 }),
    progress: Progress,
    lastError: Type.Union([ProjectionError, Type.Null()]),
    host: Type.String({ maxLength: 255 }),
    heartbeatSeconds: Type.Number({ exclusiveMinimum: 0 }),
  },
  strict,
);

const Accepted = Type.Object({ requestId: Type.String() });

export const projectionRoutes: FastifyPluginAsyncTypebox<RouteContext> = async (app, { store }) => {
  const { projections } = store;

  // Controlling and running projections touches the whole log: a token limited to prefixes is refused.
  app.addHook('onRequest', async (request) => {
    if (request.routeOptions.config.access === 'admin') checkAccess(request.principal, 'server');
  });

  app.get(
    '/projections',
    {
      config: { access: 'server' },
      schema: {
        summary: 'List projections',
        description: 'Every projection a runner ever reported, in name order, as its freshest report shows it.',
        tags,
        response: { 200: Type.Object({ projections: Type.Array(ProjectionInfoSchema) }), ...problems },
      },
    },
    async () => ({ projections: (await projections.list()).map(projectionInfoToJson) }),
  );

  app.get(
    '/projections/:name',
    {
      config: { access: 'server' },
      schema: {
        summary: 'A projection: its state, position, lag, progress and requests',
        description:
          '`stale` when its runner has not reported for three heartbeats; `requests`: the open ones, then the last ten settled, newest first.',
        tags,
        params: ProjectionParams,
        response: { 200: ProjectionInfoSchema, ...problems },
      },
    },
    async ({ params }) => projectionInfoToJson(await projections.info(params.name)),
  );

  app.post(
    '/projections/:name/replay',
    {
      config: { access: 'admin' },
      // The body may be left out: the whole log, into the serving build.
      preValidation: async (request) => {
        request.body ??= {};
      },
      schema: {
        summary: 'Ask the projection to replay',
        description:
          'With `rebuild`, the whole source into a new build that replaces the serving one; otherwise the subset (positions, stream, category, RFC 3339 times) into the serving build. One replay at a time (a second is 409).',
        tags,
        params: ProjectionParams,
        body: ReplayOptions,
        response: { 202: Accepted, ...problems },
      },
    },
    async ({ params, body }, reply) => reply.code(202).send(await projections.replay(params.name, replayOptionsFromJson(body))),
  );

  for (const kind of ['pause', 'resume', 'cancel'] as const) {
    app.post(
      `/projections/:name/${kind}`,
      {
        config: { access: 'admin' },
        schema: {
          summary: `Ask the projection to ${kind === 'cancel' ? 'cancel the replay or rebuild under way' : kind}`,
          tags,
          params: ProjectionParams,
          response: { 202: Accepted, ...problems },
        },
      },
      async ({ params }, reply) => reply.code(202).send(await projections[kind](params.name)),
    );
  }

  app.post(
    '/projections/:name/drop',
    {
      config: { access: 'admin' },
      schema: {
        summary: "Ask the projection to drop a version's builds",
        description: 'The version serving queries cannot be dropped (409).',
        tags,
        params: ProjectionParams,
        body: Type.Object({ version: Type.Integer() }, strict),
        response: { 202: Accepted, ...problems },
      },
    },
    async ({ params, body }, reply) => reply.code(202).send(await projections.drop(params.name, body.version)),
  );

  app.get(
    '/projections/:name/requests/:requestId',
    {
      config: { access: 'server' },
      schema: {
        summary: 'A request written to the projection, to follow it',
        tags,
        params: RequestParams,
        response: { 200: ProjectionRequestSchema, ...problems },
      },
    },
    async ({ params }) => requestToJson(await projections.request(params.name, params.requestId)),
  );

  app.put(
    '/projections/:name/runners/:runnerId',
    {
      config: { access: 'admin' },
      schema: {
        summary: "A runner's report (its heartbeat)",
        description: 'Registers the runner on its first report; the registry keeps the last report of each runner.',
        tags,
        params: RunnerParams,
        body: ReportBody,
        response: { 204: Type.Null(), ...problems },
      },
    },
    async ({ params, body }, reply) => {
      for (const field of ['name', 'runnerId'] as const) {
        if (body[field] !== undefined && body[field] !== params[field]) {
          throw new InvalidArgumentError(`report.${field} is '${body[field]}'; allowed: the path's, '${params[field]}'`);
        }
      }
      await projections.report(reportFromJson({ ...(body as RunnerReportJson), name: params.name, runnerId: params.runnerId }));
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/projections/:name/claim',
    {
      config: { access: 'admin' },
      schema: {
        summary: 'A runner takes the oldest pending request',
        description: 'The request, now `running` by this runner; 204 when none is pending.',
        tags,
        params: ProjectionParams,
        body: Type.Object({ runnerId: Type.String() }, strict),
        response: { 200: ProjectionRequestSchema, 204: Type.Null(), ...problems },
      },
    },
    async ({ params, body }, reply) => {
      const claimed = await projections.claim(params.name, body.runnerId);
      return claimed === undefined ? reply.code(204).send(null) : requestToJson(claimed);
    },
  );

  app.post(
    '/projections/:name/requests/:requestId/settle',
    {
      config: { access: 'admin' },
      schema: {
        summary: 'A runner reports progress on a request it claimed, or settles it',
        description:
          '`state: running` with `progress` while it runs; then `done`, `failed` (with `error`) or `cancelled`. Only the claiming runner (`runnerId`) may (409 otherwise).',
        tags,
        params: RequestParams,
        body: Type.Object(
          {
            state: oneOf(['running', 'done', 'failed', 'cancelled'] as const),
            error: Type.Optional(Type.String()),
            progress: Type.Optional(Progress),
            runnerId: Type.Optional(Type.String()),
          },
          strict,
        ),
        response: { 204: Type.Null(), ...problems },
      },
    },
    async ({ params, body }, reply) => {
      await projections.settle(params.name, params.requestId, body as RequestOutcome);
      return reply.code(204).send(null);
    },
  );
};
