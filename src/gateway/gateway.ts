/**
 * The gateway as a Fastify app: correlation, rate limits, authentication and forwarding to health-checked,
 * balanced upstreams, each its own small module. `/metrics` serves Prometheus metrics; errors are
 * `application/problem+json`, never a stack trace.
 */
import replyFrom from '@fastify/reply-from';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { defaultAuth, type GatewayConfig, type RouteConfig } from './config/config.js';
import { createAuthenticate, type Scheme } from './auth/authenticate.js';
import { correlationOf } from './correlation/correlation.js';
import { callerOf, registerRateLimits } from './limits/rate-limit.js';
import { createGatewayMetrics } from './metrics/metrics.js';
import { forward, upstreamOf } from './proxy/forward.js';
import { gatewayErrorHandler, gatewayProblem, sendProblem } from './problems.js';
import { createPool, type Pool } from './upstreams/pool.js';
import { defaultHealth, startHealthChecks } from './upstreams/health.js';

export interface GatewayOptions {
  logger?: Logger | boolean;
}

export interface Gateway {
  app: FastifyInstance;
  pools: Map<string, Pool>;
}

const defaultBodyLimit = 1_048_576;
const defaultTimeoutMs = 30_000;

/** Route patterns of a prefix: the prefix itself and everything under it. */
const patternsOf = (prefix: string) => (prefix === '/' ? ['/', '/*'] : [prefix.replace(/\/$/, ''), `${prefix.replace(/\/$/, '')}/*`]);

export const createGateway = async (config: GatewayConfig, { logger = false }: GatewayOptions = {}): Promise<Gateway> => {
  const app = Fastify({
    ...(typeof logger === 'boolean' ? { logger } : { loggerInstance: logger }),
    bodyLimit: config.bodyLimitBytes ?? defaultBodyLimit,
    requestIdHeader: false,
    disableRequestLogging: false,
    return503OnClosing: true,
  }) as unknown as FastifyInstance;
  app.setErrorHandler(gatewayErrorHandler);
  app.setNotFoundHandler((request, reply) => sendProblem(reply, gatewayProblem('not_found', `no route for ${request.url.split('?')[0]}`)));
  // Bodies pass through as bytes, whatever their type: the gateway bounds their size, upstreams parse them.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  const metrics = createGatewayMetrics();
  const pools = new Map<string, Pool>();
  for (const route of config.routes) {
    const pool = createPool(route.upstreams, {
      onChange: (url, healthy, reason) => {
        metrics.upstreamHealthy.set({ route: route.prefix, upstream: url }, healthy ? 1 : 0);
        app.log.warn({ route: route.prefix, upstream: url, healthy, reason }, healthy ? 'upstream back in rotation' : 'upstream taken out');
      },
    });
    for (const instance of pool.instances) metrics.upstreamHealthy.set({ route: route.prefix, upstream: instance.url }, 1);
    pools.set(route.prefix, pool);
  }
  const stopHealth = startHealthChecks([...pools.values()], { ...defaultHealth, ...config.health });
  app.addHook('onClose', async () => stopHealth());

  app.addHook('onRequest', async (request, reply) => {
    const { correlationId, traceparent } = correlationOf(request.headers);
    request.headers['x-correlation-id'] = correlationId;
    request.headers.traceparent = traceparent;
    reply.header('x-correlation-id', correlationId);
  });

  const routeOf = new WeakMap<FastifyRequest, RouteConfig>();
  app.addHook('onResponse', async (request, reply) => {
    const route = routeOf.get(request);
    if (route === undefined) return;
    metrics.requests.observe(
      { route: route.prefix, status: String(reply.statusCode), upstream: upstreamOf.get(request) ?? 'none' },
      reply.elapsedTime / 1000,
    );
  });

  app.get('/metrics', async (_request, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()));

  const redis = config.rateLimit === undefined ? undefined : await registerRateLimits(app, config.rateLimit);
  app.addHook('onClose', async () => redis?.disconnect());

  // Fastify logs each request and its response already; reply-from's own two lines per request would double them.
  await app.register(replyFrom, { undici: { connections: 128, pipelining: 1 }, disableRequestLogging: true });

  const authenticate = createAuthenticate(config.auth);
  for (const route of config.routes) {
    const scheme: Scheme = route.auth ?? defaultAuth(config);
    const target = { route, pool: pools.get(route.prefix)!, timeoutMs: route.timeoutMs ?? config.upstreamTimeoutMs ?? defaultTimeoutMs };
    for (const url of patternsOf(route.prefix)) {
      app.route({
        method: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
        url,
        onRequest: async (request) => {
          routeOf.set(request, route);
        },
        preValidation: async (request) => {
          const caller = await authenticate(scheme, request.headers.authorization);
          if (caller !== undefined) callerOf.set(request, caller);
        },
        handler: (request, reply) => forward(request, reply, target),
      });
    }
  }
  return { app, pools };
};
