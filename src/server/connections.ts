/**
 * Bounds on connections, so that slow or idle clients cannot lock everyone out. Node bounds the time to
 * receive a request (its headers, then its body) and an idle keep-alive connection; responses, such as
 * subscriptions and NDJSON reads, are not bounded, however long they last.
 *
 * Health and readiness must answer while the server is full, or a load balancer takes a busy server for a
 * dead one. Node's `maxConnections` drops a socket before reading a byte of it, so it cannot tell a health
 * check from anything else. The server therefore counts its connections itself: beyond `maxConnections` it
 * still accepts sockets, answers health as usual, and answers everything else 503 `unavailable` with
 * `Retry-After` and `connection: close`, so that the excess is shed as soon as its headers are read. Node's
 * limit stays as a hard ceiling above that, with headroom for health checks and for the requests being
 * shed; a socket that never finishes its headers is closed by the headers timeout.
 */
import type { FastifyInstance } from 'fastify';
import { problem, sendProblem } from './problems.js';

export interface ConnectionLimits {
  /** Connections served in full; beyond them only health is answered. */
  maxConnections: number;
  /** Longest time to receive a request's headers and body. */
  requestTimeoutMs: number;
  /** Longest time to receive a request's headers; at most `requestTimeoutMs`. */
  headersTimeoutMs: number;
  /** How long an idle keep-alive connection stays open. */
  keepAliveTimeoutMs: number;
}

/** Sockets accepted beyond `maxConnections`, to answer health and shed the rest. */
const headroomOf = (maxConnections: number) => Math.max(64, Math.ceil(maxConnections / 10));

/** What Fastify needs to know at construction. Node looks for expired requests a few times per timeout. */
export const timeoutOptions = (limits: ConnectionLimits) => ({
  requestTimeout: limits.requestTimeoutMs,
  keepAliveTimeout: limits.keepAliveTimeoutMs,
  http: { headersTimeout: limits.headersTimeoutMs, connectionsCheckingInterval: Math.ceil(limits.headersTimeoutMs / 4) },
});

const retryAfterSeconds = 1;

export const limitConnections = (app: FastifyInstance, { maxConnections }: ConnectionLimits) => {
  let open = 0;
  app.server.maxConnections = maxConnections + headroomOf(maxConnections);
  app.server.on('connection', (socket: NodeJS.EventEmitter) => {
    open++;
    socket.once('close', () => open--);
  });
  app.addHook('onRequest', async (request, reply) => {
    if (open <= maxConnections || request.routeOptions.url?.startsWith('/health/')) return;
    reply.header('retry-after', String(retryAfterSeconds)).header('connection', 'close');
    return sendProblem(
      reply,
      problem('unavailable', `the server is at its limit of ${maxConnections} connections; retry in ${retryAfterSeconds} s`),
    );
  });
  // A reply sent before its request's body was read (a 401, 403, 413 or 503): draining the rest would let a
  // client hold the connection for as long as it trickles, so the connection ends with the reply.
  app.addHook('onSend', async (request, reply) => {
    if (!request.raw.complete) reply.header('connection', 'close');
  });
};
