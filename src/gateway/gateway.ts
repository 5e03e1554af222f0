/**
 * The gateway as a Fastify app: correlation, rate limits, authentication and forwarding to health-checked,
 * balanced upstreams, each its own small module. It answers `/metrics` (Prometheus), `/health/live` and
 * `/health/ready` itself; errors are `application/problem+json`, never a stack trace. In a worker of
 * `--workers N`, rate limits and metrics go through the cluster's primary (cluster/).
 */
import replyFrom from '@fastify/reply-from';
import underPressure from '@fastify/under-pressure';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { defaultAuth, type GatewayConfig, type RouteConfig } from './config/config.js';
import { createAuthenticate, type Scheme } from './auth/authenticate.js';
import { correlationOf } from './correlation/correlation.js';
import { callerOf, registerRateLimits } from './limits/rate-limit.js';
import { createGatewayMetrics } from './metrics/metrics.js';
import { forward, upstreamOf } from './proxy/forward.js';
import { gatewayErrorHandler, gatewayProblem, GatewayProblemError, sendProblem } from './problems.js';
import { createPool, type Pool } from './upstreams/pool.js';
import { defaultHealth, startHealthChecks } from './upstreams/health.js';
import type { Asker } from './cluster/ipc.js';

export interface GatewayOptions {
  logger?: Logger | boolean;
  /** Set in a worker of `--workers N`: asks the primary, which counts rate limits and aggregates metrics for all workers. */
  primary?: Asker;
}

export interface Gateway {
  app: FastifyInstance;
  pools: Map<string, Pool>;
}

const defaultBodyLimit = 1_048_576;
const defaultTimeoutMs = 30_000;
const defaultMaxEventLoopDelayMs = 1000;
/** Past prom-client's own 5 s bound on gathering the workers' metrics. */
const metricsTimeoutMs = 6000;
/** Headers only the gateway may set: a caller's own are dropped. */
const internalHeader = /^x-annals-/;

/** Route patterns of a prefix: the prefix itself and everything under it. */
const patternsOf = (prefix: string) => (prefix === '/' ? ['/', '/*'] : [prefix.replace(/\/$/, ''), `${prefix.replace(/\/$/, '')}/*`]);

export const createGateway = async (config: GatewayConfig, { logger = false, primary }: GatewayOptions = {}): Promise<Gateway> => {
  const app = Fastify({
    ...(typeof logger === 'boolean' ? { logger } : { loggerInstance: logger }),
    bodyLimit: config.bodyLimitBytes ?? defaultBodyLimit,
    ...(config.trustProxy === undefined ? {} : { trustProxy: config.trustProxy }),
    requestIdHeader: false,
    return503OnClosing: true,
  }) as unknown as FastifyInstance;
  app.setErrorHandler(gatewayErrorHandler);
  app.setNotFoundHandler((request, reply) => sendProblem(reply, gatewayProblem('not_found', `no route for ${request.url.split('?')[0]}`)));
  // Bodies pass through as bytes, whatever their type: the gateway bounds their size, upstreams parse them.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  const metrics = createGatewayMetrics(primary !== undefined);
  const pools = new Map<string, Pool>();
  for (const route of config.routes) {
    const pool = createPool(route.upstreams, {
      ...(route.maxInFlight === undefined ? {} : { maxInFlight: route.maxInFlight }),
      ...(route.writablePath === undefined ? {} : { writablePath: route.writablePath }),
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

  // The gateway's own saturation: while its event loop lags, answering fast beats queueing.
  await app.register(underPressure, {
    maxEventLoopDelay: config.maxEventLoopDelayMs ?? defaultMaxEventLoopDelayMs,
    // A rejected promise goes to the error handler as the problem it carries.
    pressureHandler: async (_request, reply, type) => {
      metrics.refused.inc({ route: 'any', reason: 'overloaded' });
      reply.header('retry-after', '1');
      throw new GatewayProblemError(gatewayProblem('unavailable', `the gateway is overloaded (${type}); retry later`));
    },
  });

  app.addHook('onRequest', async (request, reply) => {
    for (const name of Object.keys(request.headers)) if (internalHeader.test(name)) delete request.headers[name];
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

  app.get('/metrics', async (_request, reply) =>
    reply
      .type(metrics.registry.contentType)
      .send(primary === undefined ? await metrics.registry.metrics() : await primary<string>('metrics', null, metricsTimeoutMs)),
  );
  app.get('/health/live', async () => ({ status: 'live', pid: process.pid }));
  app.get('/health/ready', async (_request, reply) => {
    const down = [...pools].filter(([, pool]) => !pool.instances.some((instance) => instance.healthy)).map(([prefix]) => prefix);
    return reply
      .code(down.length === 0 ? 200 : 503)
      .send({ status: down.length === 0 ? 'ready' : 'unavailable', routesWithoutUpstream: down });
  });

  const redis = config.rateLimit === undefined ? undefined : await registerRateLimits(app, config.rateLimit, primary);
  app.addHook('onClose', async () => redis?.disconnect());

  // Fastify logs each request and its response already; reply-from's own two lines per request would double them.
  await app.register(replyFrom, { undici: { connections: 128, pipelining: 1 }, disableRequestLogging: true });

  const authenticate = createAuthenticate(config.auth);
  for (const route of config.routes) {
    const scheme: Scheme = route.auth ?? defaultAuth(config);
    const target = {
      route,
      pool: pools.get(route.prefix)!,
      timeoutMs: route.timeoutMs ?? config.upstreamTimeoutMs ?? defaultTimeoutMs,
      onRefused: (reason: string) => metrics.refused.inc({ route: route.prefix, reason }),
    };
    for (const url of patternsOf(route.prefix)) {
      app.route({
        method: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
        url,
        onRequest: async (request) => {
          routeOf.set(request, route);
        },
        preValidation: async (request) => {
          const caller = await authenticate(scheme, request.headers.authorization);
          if (caller === undefined) return;
          callerOf.set(request, caller);
          request.headers['x-annals-caller'] = caller;
        },
        handler: (request, reply) => forward(request, reply, target),
      });
    }
  }
  return { app, pools };
};
