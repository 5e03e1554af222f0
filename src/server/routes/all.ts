/**
 * The global log: `$all` reads, narrowed to the streams the caller's token may see. It answers at
 * `/streams/$all` too, where users of KurrentDB look for it.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { narrowFilter } from '../../auth/access.js';
import { filterOf, positionOrKeyword, type RouteContext } from '../context.js';
import { sendRead } from '../reads.js';
import { AllReadQuery, EventPage, Problem } from '../schemas.js';

export const allRoutes: FastifyPluginAsyncTypebox<RouteContext> = async (app, { store, metrics, sizes, acls }) => {
  for (const url of ['/all', '/streams/$all'])
    app.get(
      url,
      {
        config: { access: 'reader' },
        schema: {
          summary: url === '/all' ? 'Read the global log' : 'Read the global log (as at /all)',
          description: 'A JSON page with a `next` cursor, or every event as NDJSON with `Accept: application/x-ndjson`.',
          tags: ['all'],
          hide: url !== '/all',
          querystring: AllReadQuery,
          response: { 200: EventPage, '4xx': Problem, '5xx': Problem },
        },
      },
      async (request, reply) => {
        const { direction = 'forwards', limit } = request.query;
        const from = positionOrKeyword(request.query.from);
        const filter = narrowFilter(request.principal, filterOf(request.query));
        const readable = await acls.readable(request.principal);
        return sendRead(
          request,
          reply,
          {
            source: 'all',
            limit: limit === undefined ? undefined : Number(limit),
            iterate: (size) => store.iterateAll({ from, direction, limit: size, filter }),
            nextFrom: (last) => {
              const next = direction === 'forwards' ? last.position + 1n : last.position - 1n;
              return next < 0n ? undefined : String(next);
            },
            visible: (event) => readable(event.stream, event.type),
            isAbsent: async () => false,
            absentDetail: '',
          },
          sizes,
          metrics,
        );
      },
    );
};
