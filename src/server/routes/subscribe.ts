/**
 * Live subscriptions over Server-Sent Events. A client resumes with `Last-Event-ID` (the position of the
 * last event it got), which wins over `from`. For a stream subscription that position is turned into the
 * revision to start after, by walking the stream back from its end to the last event at or before it: the
 * walk covers exactly the events the client is about to receive again, so it costs nothing extra.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { EventStore } from '../../store/event-store.js';
import { InvalidArgumentError } from '../../store/errors.js';
import { maxPosition } from '../../store/validate.js';
import { narrowFilter } from '../../auth/access.js';
import type { Principal } from '../../auth/tokens.js';
import { filterOf, positionOrKeyword, revisionOrKeyword, type RouteContext } from '../context.js';
import { AllSubscribeQuery, StreamParams, StreamSubscribeQuery } from '../schemas.js';
import { sendSubscription } from '../sse.js';
import { identityHeaders } from '../../protocol/wire.js';

const lastEventIdOf = (header: string | string[] | undefined): bigint | undefined => {
  if (header === undefined) return undefined;
  if (typeof header !== 'string' || !/^(0|[1-9][0-9]{0,18})$/.test(header) || BigInt(header) > maxPosition) {
    throw new InvalidArgumentError(
      `Last-Event-ID is '${String(header).slice(0, 40)}'; allowed: a position from 0 to ${maxPosition} (the id of the last event received)`,
    );
  }
  return BigInt(header);
};

const revisionAtOrBefore = async (store: EventStore, stream: string, position: bigint): Promise<number | 'start'> => {
  for await (const event of store.iterateStream(stream, { direction: 'backwards' })) {
    if (event.position <= position) return event.revision;
  }
  return 'start';
};

export const subscribeRoutes: FastifyPluginAsyncTypebox<RouteContext> = async (
  app,
  { store, metrics, heartbeatMs, subscriptions, acls },
) => {
  const contextFor = async (principal: Principal) => ({
    heartbeatMs,
    metrics,
    open: subscriptions,
    readable: () => acls.readable(principal),
    headers: identityHeaders(await store.identity()),
  });
  const description =
    'Server-Sent Events: one `id:`/`data:` message per event, `event: caught-up` at the end of history, heartbeats as comments.';

  app.get(
    '/subscribe/streams/:stream',
    {
      config: { access: 'reader', acl: 'read' },
      schema: {
        summary: 'Subscribe to a stream',
        description,
        tags: ['subscriptions'],
        params: StreamParams,
        querystring: StreamSubscribeQuery,
      },
    },
    async (request, reply) => {
      const { stream } = request.params;
      const resumeAt = lastEventIdOf(request.headers['last-event-id']);
      const from = resumeAt === undefined ? revisionOrKeyword(request.query.from) : await revisionAtOrBefore(store, stream, resumeAt);
      return sendSubscription(request, reply, store.subscribe({ stream, from }), await contextFor(request.principal));
    },
  );

  app.get(
    '/subscribe/all',
    {
      config: { access: 'reader' },
      schema: { summary: 'Subscribe to the global log', description, tags: ['subscriptions'], querystring: AllSubscribeQuery },
    },
    async (request, reply) => {
      const from = lastEventIdOf(request.headers['last-event-id']) ?? positionOrKeyword(request.query.from);
      const filter = narrowFilter(request.principal, filterOf(request.query));
      return sendSubscription(request, reply, store.subscribe({ filter, from, checkpoints: true }), await contextFor(request.principal));
    },
  );
};
