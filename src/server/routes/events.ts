/** Events by id: what an idempotent command looks up before it writes. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { covers } from '../../auth/access.js';
import { recordedToJson } from '../../protocol/wire.js';
import { NotFoundError } from '../../store/errors.js';
import type { RouteContext } from '../context.js';
import { Problem, RecordedEvent } from '../schemas.js';

const problems = { '4xx': Problem, '5xx': Problem };

export const eventRoutes: FastifyPluginAsyncTypebox<RouteContext> = async (app, { store, acls }) => {
  app.get(
    '/events/:id',
    {
      config: { access: 'reader' },
      schema: {
        summary: 'Read one event by its id',
        description:
          'Finds an event that the stream metadata hides from reads, not one of a deleted stream. An event the token may not read is as absent: 404.',
        tags: ['streams'],
        params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
        response: { 200: RecordedEvent, ...problems },
      },
    },
    async ({ params, principal }) => {
      const event = await store.readEvent(params.id);
      // Absent and unreadable answer alike, so that a token learns nothing of streams it may not read.
      if (event === undefined || !covers(principal, event.stream) || !(await acls.readable(principal))(event.stream, event.type)) {
        throw new NotFoundError(`no event with id '${params.id}'`);
      }
      return recordedToJson(event);
    },
  );
};
