/**
 * Subscriptions as Server-Sent Events. Each event goes out with `id:` = its position (what a client sends
 * back as `Last-Event-ID` to resume), the end of history as `event: caught-up`, a failure as
 * `event: problem` before the end, and a comment line as heartbeat so that proxies keep the connection
 * open and clients notice a dead one. A slow client slows only its own subscription: the next page is
 * read when the socket has drained. The first message is read before the status is sent, so a
 * subscription that cannot start (a tombstoned stream, a bad position) is a proper 4xx for every caller.
 * Events of streams the caller may not read (stream ACLs) are left out.
 */
import type { ServerResponse } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { isCaughtUp, isEvent, type Subscription, type SubscriptionMessage } from '../store/model.js';
import type { Metrics } from './metrics.js';
import { problem, problemOf } from './problems.js';
import { recordedToJsonText } from '../protocol/wire.js';

/** Open subscriptions of a server, so that shutting down can end them. */
export type OpenSubscriptions = Set<() => Promise<void>>;

const drained = (response: ServerResponse) =>
  new Promise<void>((resolve) => {
    const done = () => {
      response.off('drain', done);
      response.off('close', done);
      resolve();
    };
    response.on('drain', done);
    response.on('close', done);
  });

/**
 * Takes over the response as an event stream: the status and headers, a first comment, and a heartbeat
 * until `stopHeartbeat` is called.
 */
export const openEventStream = (
  request: FastifyRequest,
  reply: FastifyReply,
  heartbeatMs: number,
  headers: Record<string, string> = {},
) => {
  reply.hijack();
  const response = reply.raw;
  response.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
    'x-request-id': request.id,
    ...headers,
  });
  response.write(': subscribed\n\n');
  const heartbeat = setInterval(() => response.write(': heartbeat\n\n'), heartbeatMs);
  return { response, stopHeartbeat: () => clearInterval(heartbeat) };
};

/** Ends an event stream that failed with `event: problem`; the details of an unexpected failure go to the log only. */
export const writeStreamProblem = (request: FastifyRequest, response: ServerResponse, error: unknown, what: string) => {
  const body = problemOf(error) ?? problem('internal', `${what} failed; the server log has the details`);
  if (body.code === 'internal') request.log.error({ err: error }, `${what} failed`);
  response.write(`event: problem\ndata: ${JSON.stringify(body)}\n\n`);
};

export const sendSubscription = async (
  request: FastifyRequest,
  reply: FastifyReply,
  subscription: Subscription,
  context: {
    heartbeatMs: number;
    metrics: Metrics;
    open: OpenSubscriptions;
    readable: () => Promise<(stream: string, type?: string) => boolean>;
    /** Response headers naming the store's identity (`identityHeaders`). */
    headers: Record<string, string>;
  },
) => {
  const messages = subscription[Symbol.asyncIterator]();
  let first: IteratorResult<SubscriptionMessage>;
  try {
    first = await messages.next();
  } catch (error) {
    await subscription.close();
    throw error;
  }
  const { response, stopHeartbeat } = openEventStream(request, reply, context.heartbeatMs, context.headers);
  const end = async () => {
    await subscription.close();
    response.end();
  };
  context.open.add(end);
  context.metrics.subscriptions.inc();
  response.on('close', () => void subscription.close());
  try {
    for (let next = first; !next.done; next = await messages.next()) {
      const message = next.value;
      if (isEvent(message) && !(await context.readable())(message.stream, message.type)) continue;
      const text = isEvent(message)
        ? `id: ${message.position}\ndata: ${recordedToJsonText(message)}\n\n`
        : isCaughtUp(message)
          ? 'event: caught-up\ndata: {}\n\n'
          : `event: checkpoint\nid: ${message.checkpoint}\ndata: {}\n\n`;
      if (!response.write(text)) await drained(response);
      if (response.destroyed) break;
    }
  } catch (error) {
    writeStreamProblem(request, response, error, 'the subscription');
  } finally {
    stopHeartbeat();
    context.open.delete(end);
    context.metrics.subscriptions.dec();
    response.end();
  }
};
