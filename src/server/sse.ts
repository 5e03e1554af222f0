/**
 * Subscriptions as Server-Sent Events. Each event goes out with `id:` = its position (what a client sends
 * back as `Last-Event-ID` to resume), the end of history as `event: caught-up`, a failure as
 * `event: problem` before the end, and a comment line as heartbeat so that proxies keep the connection
 * open and clients notice a dead one. A slow client slows only its own subscription: the next page is
 * read when the socket has drained.
 */
import type { ServerResponse } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { isCaughtUp, isEvent, type Subscription } from '../store/model.js';
import type { Metrics } from './metrics.js';
import { problem, problemOf } from './problems.js';
import { recordedToJsonText } from './wire.js';

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

export const sendSubscription = async (
  request: FastifyRequest,
  reply: FastifyReply,
  subscription: Subscription,
  context: { heartbeatMs: number; metrics: Metrics; open: OpenSubscriptions },
) => {
  reply.hijack();
  const response = reply.raw;
  response.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
    'x-request-id': request.id,
  });
  response.write(': subscribed\n\n');
  const heartbeat = setInterval(() => response.write(': heartbeat\n\n'), context.heartbeatMs);
  const end = async () => {
    await subscription.close();
    response.end();
  };
  context.open.add(end);
  context.metrics.subscriptions.inc();
  response.on('close', () => void subscription.close());
  try {
    for await (const message of subscription) {
      const text = isEvent(message)
        ? `id: ${message.position}\ndata: ${recordedToJsonText(message)}\n\n`
        : isCaughtUp(message)
          ? 'event: caught-up\ndata: {}\n\n'
          : `event: checkpoint\nid: ${message.checkpoint}\ndata: {}\n\n`;
      if (!response.write(text)) await drained(response);
      if (response.destroyed) break;
    }
  } catch (error) {
    const body = problemOf(error) ?? problem('internal', 'the subscription failed; the server log has the details');
    if (body.code === 'internal') request.log.error({ err: error }, 'subscription failed');
    response.write(`event: problem\ndata: ${JSON.stringify(body)}\n\n`);
  } finally {
    clearInterval(heartbeat);
    context.open.delete(end);
    context.metrics.subscriptions.dec();
    response.end();
  }
};
