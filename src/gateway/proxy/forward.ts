/**
 * Forwarding one request to an instance of its route with @fastify/reply-from (undici underneath): the
 * instance is picked round-robin among the healthy ones (writable ones for a write); a refused connection
 * takes the instance out and tries the next (the request never reached it, so this is safe for any
 * method); a 5xx other than 503 takes it out and goes back to the caller. No instance to send to is 503 `unavailable` with
 * `Retry-After` (none healthy, none writable, or every one at its limit of requests in flight: load shed);
 * no answer in time is 504.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { RouteConfig } from '../config/config.js';
import type { Pool } from '../upstreams/pool.js';
import { gatewayProblem, sendProblem } from '../problems.js';

export interface ForwardRoute {
  route: RouteConfig;
  pool: Pool;
  timeoutMs: number;
  /** Told of each request refused for want of an instance, with the reason (for metrics). */
  onRefused?: (reason: 'unhealthy' | 'read-only' | 'saturated') => void;
}

const readMethods = new Set(['GET', 'HEAD', 'OPTIONS']);

const refusals = {
  unhealthy: (prefix: string) => `no healthy upstream for ${prefix}; retry later`,
  'read-only': (prefix: string) => `no upstream of ${prefix} takes writes now (read-only); retry later`,
  saturated: (prefix: string, limit: number) => `every upstream of ${prefix} has ${limit} requests in flight; load shed, retry later`,
};

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

export const forward = (request: FastifyRequest, reply: FastifyReply, target: ForwardRoute, tried = 0): void => {
  const { route, pool, timeoutMs } = target;
  const picked = pool.pick(!readMethods.has(request.method));
  if ('none' in picked) {
    target.onRefused?.(picked.none);
    void sendProblem(
      reply.header('retry-after', '1'),
      gatewayProblem('unavailable', refusals[picked.none](route.prefix, pool.maxInFlight)),
    );
    return;
  }
  const { instance } = picked;
  instance.inFlight++;
  let released = false;
  const release = () => {
    if (!released) instance.inFlight--;
    released = true;
  };
  reply.raw.once('close', release);
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
      // A 503 is the instance saying "not now" (its own dependency is out, it sheds load): the caller gets it,
      // and the instance stays in rotation; any other 5xx takes it out until its health check passes.
      if (response.statusCode >= 500 && response.statusCode !== 503) pool.markDown(instance.url, `answered ${response.statusCode}`);
      void reply.send(response.stream);
    },
    onError: (_reply, { error }) => {
      release();
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
        forward(request, reply, target, tried + 1);
        return;
      }
      request.log.warn({ upstream: instance.url, code }, 'upstream failed');
      void sendProblem(reply, gatewayProblem('bad_gateway', `the upstream of ${route.prefix} failed (${code ?? 'error'}); retry later`));
    },
  });
};
