/** Snapshots of streams (DESIGN.md section 8): read with the stream's read permission, written and deleted with its write permission. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { RouteContext } from '../context.js';
import { Problem, Snapshot, SnapshotBody, SnapshotQuery, StreamParams } from '../schemas.js';
import { snapshotToJson } from '../../protocol/wire.js';
import { NotFoundError } from '../../store/errors.js';

const problems = { '4xx': Problem, '5xx': Problem };

const versionOf = (query: { schemaVersion?: string }) =>
  query.schemaVersion === undefined ? {} : { schemaVersion: Number(query.schemaVersion) };

export const snapshotRoutes: FastifyPluginAsyncTypebox<RouteContext> = async (app, { store }) => {
  app.get(
    '/snapshots/:stream',
    {
      config: { access: 'reader', acl: 'read' },
      schema: {
        summary: "Read a stream's snapshot",
        description: 'The snapshot of `schemaVersion`, or without it the one of the highest revision; 404 when there is none.',
        tags: ['snapshots'],
        params: StreamParams,
        querystring: SnapshotQuery,
        response: { 200: Snapshot, ...problems },
      },
    },
    async ({ params, query }) => {
      const snapshot = await store.snapshots.read(params.stream, versionOf(query));
      if (snapshot === undefined)
        throw new NotFoundError(
          `no snapshot of stream '${params.stream}'${query.schemaVersion === undefined ? '' : ` with schemaVersion ${query.schemaVersion}`}`,
        );
      return snapshotToJson(snapshot);
    },
  );

  app.put(
    '/snapshots/:stream',
    {
      config: { access: 'writer', acl: 'write' },
      schema: {
        summary: 'Write a snapshot',
        description:
          'Kept unless a snapshot of a higher revision is kept for the same schemaVersion (`written: false`); refused for a revision the stream does not hold.',
        tags: ['snapshots'],
        params: StreamParams,
        body: SnapshotBody,
        response: { 200: Type.Object({ written: Type.Boolean() }), ...problems },
      },
    },
    async ({ params, body }) => store.snapshots.write(params.stream, body as Parameters<typeof store.snapshots.write>[1]),
  );

  app.delete(
    '/snapshots/:stream',
    {
      config: { access: 'writer', acl: 'write' },
      schema: {
        summary: "Delete a stream's snapshots",
        description: 'The one of `schemaVersion`, or all of them. Deleting snapshots changes the speed of loading, never its result.',
        tags: ['snapshots'],
        params: StreamParams,
        querystring: SnapshotQuery,
        response: { 204: Type.Null(), ...problems },
      },
    },
    async ({ params, query }, reply) => {
      await store.snapshots.delete(params.stream, versionOf(query));
      return reply.code(204).send(null);
    },
  );
};
