/**
 * Copying a log into this store (DESIGN.md section 11): `POST /import` takes a batch of another store's
 * events, as `/all?includeSystem=true` gives them, and `POST /epoch` starts a new epoch after a restore.
 * Both need an admin token for every stream: a copy writes wherever the source's events are.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { checkAccess } from '../../auth/access.js';
import type { JsonObject, JsonValue } from '../../store/model.js';
import type { RouteContext } from '../context.js';
import { Identity, ImportedEvent, Problem } from '../schemas.js';

const problems = { '4xx': Problem, '5xx': Problem };

const ImportBody = Type.Object(
  {
    keepPositions: Type.Optional(Type.Boolean({ description: 'keep each event position (all must be above the head)' })),
    source: Type.Optional(Identity),
    events: Type.Array(ImportedEvent, { maxItems: 10_000 }),
  },
  { additionalProperties: false },
);

const ImportResult = Type.Object({ events: Type.Integer(), headPosition: Type.String() });

export const copyingRoutes: FastifyPluginAsyncTypebox<RouteContext> = async (app, { store }) => {
  app.post(
    '/import',
    {
      config: { access: 'admin' },
      schema: {
        summary: "Import a batch of another store's events",
        description:
          'Events keep their ids, streams, revisions, times and, with `keepPositions`, positions; a `$$<stream>` event makes the change it records. ' +
          'All or nothing: an event that does not follow what the store holds is a 409 `conflict` naming it.',
        tags: ['operations'],
        body: ImportBody,
        response: { 200: ImportResult, ...problems },
      },
    },
    async ({ body, principal }) => {
      checkAccess(principal, 'server');
      const { events, source, ...options } = body;
      const result = await store.importEvents(
        events.map((event) => ({
          ...event,
          data: event.data as JsonValue,
          metadata: (event.metadata ?? {}) as JsonObject,
          position: BigInt(event.position),
          recordedAt: new Date(event.recordedAt),
        })),
        { ...options, ...(source === undefined ? {} : { source: { ...source, epochStart: BigInt(source.epochStart) } }) },
      );
      return { events: result.events, headPosition: String(result.headPosition) };
    },
  );

  app.post(
    '/epoch',
    {
      config: { access: 'admin' },
      schema: {
        summary: 'Start a new epoch of this store at its head (after a restore)',
        tags: ['operations'],
        response: { 200: Identity, ...problems },
      },
    },
    async ({ principal }) => {
      checkAccess(principal, 'server');
      const identity = await store.startEpoch();
      return { ...identity, epochStart: String(identity.epochStart) };
    },
  );
};
