/**
 * Forwarding one request to an instance of its route with @fastify/reply-from (undici underneath): the
 * instance is picked round-robin among the healthy ones; a refused connection takes the instance out and
 * tries the next (the request never reached it, so this is safe for any method); a 5xx takes it out and
 * goes back to the caller; no healthy instance is 503 `unavailable`, no answer in time 504.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { RouteConfig } from '../config/config.js';
import type { Pool } from '../upstreams/pool.js';
import { gatewayProblem, sendProblem } from '../problems.js';

export interface ForwardRoute {
  route: RouteConfig;
  pool: Pool;
  timeoutMs: number;
}

/** The instance that answered a request, for metrics. */
export const upstreamOf = new WeakMap<FastifyRequest, string>();

const connectionCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'EPIPE']);

const codeOf = (error: unknown): string | undefined => {
  const { code, cause } = (error ?? {}) as { code?: unknown; cause?: unknown };
  const inner = cause === undefined ? undefined : codeOf(cause);
  return inner ?? (typeof code === 'string' ? code : undefined);
};

/** The path upstream: the prefix replaced by `rewritePrefix` when one is given. */
const upstreamPath = (route: RouteConfig, url: string) => {
  const path = url.split('?')[0]!;
  if (route.rewritePrefix === undefined) return path;
  const rest = route.prefix === '/' ? path : path.slice(route.prefix.replace(/\/$/, '').length);
  const joined = `${route.rewritePrefix.replace(/\/$/, '')}${rest.startsWith('/') || rest === '' ? rest : `/${rest}`}`;
  return joined === '' ? '/' : joined;
};

export const forward = (request: FastifyRequest, reply: FastifyReply, { route, pool, timeoutMs }: ForwardRoute, tried = 0): void => {
  const instance = pool.pick();
  if (instance === undefined) {
    void sendProblem(reply, gatewayProblem('unavailable', `no healthy upstream for ${route.prefix}; retry later`));
    return;
  }
  upstreamOf.set(request, instance.url);
  const body = Buffer.isBuffer(request.body)
    ? { body: request.body, contentType: request.headers['content-type'] ?? 'application/octet-stream' }
    : {};
  void reply.from(upstreamPath(route, request.url), {
    ...body,
    getUpstream: () => instance.url,
    timeout: timeoutMs,
    // The gateway decides itself where to send a request again (a refused connection), so none here.
    retryDelay: () => null,
    onResponse: (_request, _reply, response) => {
      if (response.statusCode >= 500) pool.markDown(instance.url, `answered ${response.statusCode}`);
      void reply.send(response.stream);
    },
    onError: (_reply, { error }) => {
      const code = codeOf(error);
      const status = (error as { statusCode?: number }).statusCode;
      if (status === 504 && code !== 'UND_ERR_CONNECT_TIMEOUT') {
        void sendProblem(
          reply,
          gatewayProblem('upstream_timeout', `the upstream of ${route.prefix} did not answer within ${timeoutMs} ms`),
        );
        return;
      }
      if (code !== undefined && connectionCodes.has(code)) pool.markDown(instance.url, `connection failed: ${code}`);
      if (code === 'ECONNREFUSED' && tried + 1 < pool.instances.length) {
        forward(request, reply, { route, pool, timeoutMs }, tried + 1);
        return;
      }
      request.log.warn({ upstream: instance.url, code }, 'upstream failed');
      void sendProblem(reply, gatewayProblem('bad_gateway', `the upstream of ${route.prefix} failed (${code ?? 'error'}); retry later`));
    },
  });
};
