/** Streams: append, read, delete, and stream metadata. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { RouteContext } from '../context.js';
import { revisionOrKeyword } from '../context.js';
import { sendRead } from '../reads.js';
import {
  AppendBody,
  AppendResult,
  DeleteQuery,
  EventPage,
  MetadataQuery,
  Problem,
  StreamAcl,
  StreamMetadata,
  StreamList,
  StreamListQuery,
  StreamParams,
  StreamReadQuery,
} from '../schemas.js';
import { appendResultToJson, expectedRevisionOf, streamInfoToJson } from '../../protocol/wire.js';
import { covers, narrowPrefix } from '../../auth/access.js';
import type { RecordedEvent } from '../../store/model.js';

const problems = { '4xx': Problem, '5xx': Problem };

export const streamRoutes: FastifyPluginAsyncTypebox<RouteContext> = async (app, { store, metrics, sizes, acls }) => {
  app.post(
    '/streams/:stream',
    {
      config: { access: 'writer', acl: 'write' },
      schema: {
        summary: 'Append events',
        tags: ['streams'],
        params: StreamParams,
        body: AppendBody,
        response: { 200: AppendResult, ...problems },
      },
    },
    async ({ params, body }) => {
      const result = await store.append(params.stream, body.events as Parameters<typeof store.append>[1], {
        expectedRevision: body.expectedRevision,
      });
      metrics.appendedEvents.inc(body.events.length);
      return appendResultToJson(result);
    },
  );

  app.get(
    '/streams/:stream',
    {
      config: { access: 'reader', acl: 'read' },
      schema: {
        summary: 'Read a stream',
        description: 'A JSON page with a `next` cursor, or every event as NDJSON with `Accept: application/x-ndjson`.',
        tags: ['streams'],
        params: StreamParams,
        querystring: StreamReadQuery,
        response: { 200: EventPage, ...problems },
      },
    },
    async (request, reply) => {
      const { stream } = request.params;
      // `/streams/%24all` (the router matches `/streams/$all` literally): relative, so it holds behind a prefix.
      if (stream === '$all') return reply.redirect(`../all${request.url.slice(request.url.split('?')[0]!.length)}`, 308);
      const { direction = 'forwards', limit } = request.query;
      const from = revisionOrKeyword(request.query.from);
      // `$$S` records S's metadata: its `$metadata` events need `metaRead` on S as well (stream-acl.ts).
      const readable = stream.startsWith('$$') ? await acls.readable(request.principal) : undefined;
      return sendRead(
        request,
        reply,
        {
          source: 'stream',
          limit: limit === undefined ? undefined : Number(limit),
          iterate: (size) => store.iterateStream(stream, { from, direction, limit: size }),
          ...(readable === undefined ? {} : { visible: (event: RecordedEvent) => readable(event.stream, event.type) }),
          nextFrom: (last) => {
            const next = direction === 'forwards' ? last.revision + 1 : last.revision - 1;
            return next < 0 ? undefined : String(next);
          },
          isAbsent: async () => (await store.readStream(stream, { direction: 'backwards', limit: 1 })).length === 0,
          absentDetail: `stream '${stream}' does not exist`,
        },
        sizes,
        metrics,
      );
    },
  );

  app.delete(
    '/streams/:stream',
    {
      config: { access: 'admin' },
      schema: {
        summary: 'Delete a stream (soft), or tombstone it with hard=true',
        tags: ['streams'],
        params: StreamParams,
        querystring: DeleteQuery,
        response: { 204: Type.Null(), ...problems },
      },
    },
    async ({ params, query }, reply) => {
      const expectedRevision = expectedRevisionOf(query.expectedRevision);
      if (query.hard === 'true') await store.tombstoneStream(params.stream, { expectedRevision });
      else await store.deleteStream(params.stream, { expectedRevision });
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/streams/:stream/metadata',
    {
      config: { access: 'reader', acl: 'metaRead' },
      schema: { summary: 'Read stream metadata', tags: ['streams'], params: StreamParams, response: { 200: StreamMetadata, ...problems } },
    },
    async ({ params }) => store.getMetadata(params.stream),
  );

  app.get(
    '/streams',
    {
      config: { access: 'reader' },
      schema: {
        summary: 'List streams',
        description: 'Streams in name order, a page at a time; only those the token may read.',
        tags: ['streams'],
        querystring: StreamListQuery,
        response: { 200: StreamList, ...problems },
      },
    },
    async ({ query, principal }) => {
      const limit = query.limit === undefined ? 100 : Number(query.limit);
      const listed = await store.listStreams({ prefix: narrowPrefix(principal, query.prefix), after: query.after, limit });
      const readable = await acls.readable(principal);
      const last = listed.at(-1);
      return {
        streams: listed.filter(({ stream }) => covers(principal, stream) && readable(stream)).map(streamInfoToJson),
        ...(last !== undefined && listed.length === limit ? { next: last.stream } : {}),
      };
    },
  );

  app.get(
    '/acls',
    {
      config: { access: 'admin' },
      schema: {
        summary: 'The ACL of every stream that has one',
        tags: ['streams'],
        response: { 200: Type.Record(Type.String(), StreamAcl), ...problems },
      },
    },
    async () => Object.fromEntries(await store.readAcls()),
  );

  app.put(
    '/streams/:stream/metadata',
    {
      config: { access: 'admin' },
      schema: {
        summary: 'Write stream metadata',
        description:
          'Also appends a `$metadata` event to `$${stream}`; `expectedRevision` is the revision of `$${stream}` (409 on a mismatch).',
        tags: ['streams'],
        params: StreamParams,
        querystring: MetadataQuery,
        body: StreamMetadata,
        response: { 204: Type.Null(), ...problems },
      },
    },
    async ({ params, query, body }, reply) => {
      await store.setMetadata(params.stream, body, { expectedRevision: expectedRevisionOf(query.expectedRevision) });
      acls.forget();
      return reply.code(204).send(null);
    },
  );
};
