/** What operators and load balancers call: health, readiness, metrics, statistics, the API document. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { UnavailableError } from '../../store/errors.js';
import type { RouteContext } from '../context.js';
import type { WriteGate } from '../write-gate.js';
import { Identity, Problem, ReplicaInfo, Stats } from '../schemas.js';
import type { Replica, ReplicaInfo as ReplicaState } from '../replica.js';
import { statsToJson } from '../../protocol/wire.js';
import { createRateMeter } from '../rates.js';

const Status = Type.Object({ status: Type.String() });
const Readiness = Type.Object({
  status: Type.Union([Type.Literal('ready'), Type.Literal('read_only')]),
  reason: Type.Optional(
    Type.String({ description: 'why writes are refused: flag, replica, disk_budget, disk_full, db_read_only or down' }),
  ),
  since: Type.Optional(Type.String({ description: 'when the server became read-only (ISO 8601)' })),
  replica: Type.Optional(ReplicaInfo),
});

const replicaToJson = ({ appliedPosition, promotedAt, ...info }: ReplicaState) => ({
  ...info,
  appliedPosition: String(appliedPosition),
  ...(promotedAt === undefined ? {} : { promotedAt: promotedAt.toISOString() }),
});
const readyTimeoutMs = 2000;
const rateSampleMs = 5000;

export const operationRoutes: FastifyPluginAsyncTypebox<
  RouteContext & { isClosing: () => boolean; version: string | undefined; writeGate: WriteGate; replica: Replica | undefined }
> = async (app, { store, metrics, isClosing, version, writeGate, replica }) => {
  const replicaJson = () => (replica === undefined ? {} : { replica: replicaToJson(replica.info()) });
  const total = async (counter: typeof metrics.readEvents) => (await counter.get()).values.reduce((sum, { value }) => sum + value, 0);
  const rateMeter = createRateMeter(async () => ({
    appendedEvents: await total(metrics.appendedEvents),
    readEvents: await total(metrics.readEvents),
  }));
  await rateMeter.sample();
  const sampling = setInterval(() => void rateMeter.sample(), rateSampleMs).unref();
  app.addHook('onClose', async () => clearInterval(sampling));
  app.get(
    '/health/live',
    { config: { access: 'public' }, schema: { summary: 'The process answers', tags: ['operations'], response: { 200: Status } } },
    async () => ({ status: 'live' }),
  );

  app.get(
    '/health/ready',
    {
      config: { access: 'public' },
      schema: {
        summary: 'The store answers reads and the server is not shutting down; `read_only` (still 200) while writes are refused',
        tags: ['operations'],
        response: { 200: Readiness, 503: Problem },
      },
    },
    async () => {
      if (isClosing()) throw new UnavailableError('the server is shutting down');
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new UnavailableError(`the store did not answer within ${readyTimeoutMs} ms`)), readyTimeoutMs);
      });
      try {
        await Promise.race([store.stats(), timeout]);
      } finally {
        clearTimeout(timer);
      }
      const readOnly = writeGate.readOnly;
      return readOnly === undefined
        ? { status: 'ready' as const, ...replicaJson() }
        : { status: 'read_only' as const, reason: readOnly.reason, since: readOnly.since.toISOString(), ...replicaJson() };
    },
  );

  app.get(
    '/health/writable',
    {
      config: { access: 'public' },
      schema: {
        summary: 'The server takes writes now: 200, or 503 `unavailable` with the reason while read-only (for balancers that route writes)',
        tags: ['operations'],
        response: { 200: Status, 503: Problem },
      },
    },
    async () => {
      writeGate.check();
      return { status: 'writable' };
    },
  );

  app.get(
    '/metrics',
    { config: { access: 'server' }, schema: { summary: 'Prometheus metrics', tags: ['operations'], produces: ['text/plain'] } },
    async (_request, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
  );

  app.get(
    '/stats',
    {
      config: { access: 'server' },
      schema: {
        summary: 'Size of the store, its identity, read-only state and rates',
        tags: ['operations'],
        response: { 200: Stats, '4xx': Problem, '5xx': Problem },
      },
    },
    async () => {
      const readOnly = writeGate.readOnly;
      return {
        ...statsToJson(await store.stats()),
        readOnly: readOnly === undefined ? null : { reason: readOnly.reason, since: readOnly.since.toISOString() },
        rates: await rateMeter.rates(),
        subscriptions: (await metrics.subscriptions.get()).values[0]?.value ?? 0,
        ...replicaJson(),
      };
    },
  );

  app.get(
    '/identity',
    {
      config: { access: 'reader' },
      schema: {
        summary: 'Which store this is, and its epoch',
        tags: ['operations'],
        response: { 200: Identity, '4xx': Problem, '5xx': Problem },
      },
    },
    async () => {
      const identity = await store.identity();
      return { ...identity, epochStart: String(identity.epochStart) };
    },
  );

  app.get(
    '/',
    {
      config: { access: 'public' },
      schema: {
        summary: 'Where to go from here',
        tags: ['operations'],
        response: {
          200: Type.Object({
            name: Type.String(),
            version: Type.String(),
            docs: Type.String(),
            ui: Type.String(),
            openapi: Type.String(),
            health: Type.String(),
          }),
        },
      },
    },
    async () => ({ name: 'Annals', version: version ?? '0', docs: 'docs/', ui: 'ui/', openapi: 'openapi.json', health: 'health/ready' }),
  );

  app.get(
    '/openapi.json',
    { config: { access: 'public' }, schema: { summary: 'This API as OpenAPI 3', tags: ['operations'], hide: true } },
    async () => app.swagger(),
  );
};
