/**
 * Rate limits with @fastify/rate-limit: one limit per address (checked as a request arrives) and one per
 * token (checked once the caller is known; routes without auth have only the first). Both count in Redis
 * when `redisUrl` is set, so gateways that share the Redis and the prefix share the limits; else in the
 * cluster's primary under `--workers`, so the workers share them; in process otherwise. An exceeded limit answers 429 `rate_limited` with `Retry-After` and `RateLimit-*` headers.
 */
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Redis } from 'ioredis';
import { clusterLimitStore } from '../cluster/shared-limits.js';
import type { Asker } from '../cluster/ipc.js';
import { gatewayPaths, type GatewayConfig } from '../config/config.js';
import { gatewayProblem, GatewayProblemError } from '../problems.js';

type Limits = NonNullable<GatewayConfig['rateLimit']>;

/** The caller's name once authenticated, set by the gateway's auth hook. */
export const callerOf = new WeakMap<FastifyRequest, string>();

const refusal = (what: string) => (_request: FastifyRequest, context: { max: number; after: string }) =>
  new GatewayProblemError(gatewayProblem('rate_limited', `more than ${context.max} requests ${what}; retry in ${context.after}`));

/** Registers both limits; returns the Redis client to close, if any. Call before the routes are added. */
export const registerRateLimits = async (app: FastifyInstance, limits: Limits, primary?: Asker): Promise<Redis | undefined> => {
  const redis = limits.redisUrl === undefined ? undefined : new Redis(limits.redisUrl, { connectTimeout: 2000, maxRetriesPerRequest: 1 });
  redis?.on('error', (error) => app.log.warn({ err: error }, 'rate limit Redis error'));
  const prefix = limits.redisPrefix ?? 'annals-gateway:';
  const storeIn = (namespace: string) =>
    redis === undefined && primary !== undefined ? { store: clusterLimitStore(primary, namespace) } : {};
  const common = {
    global: true,
    timeWindow: limits.windowMs,
    ...(redis === undefined ? {} : { redis }),
    // Limits are a defence, not the service: when Redis is out, requests go through rather than fail.
    skipOnError: true,
    enableDraftSpec: true,
  };
  await app.register(rateLimit, {
    ...common,
    hook: 'onRequest',
    max: limits.perAddress,
    nameSpace: `${prefix}address:`,
    ...storeIn(`${prefix}address:`),
    keyGenerator: (request) => request.ip,
    // Health checks and scrapes of the gateway itself are not callers' traffic.
    allowList: (request) => gatewayPaths.includes(request.url.split('?')[0]!),
    errorResponseBuilder: refusal(`from this address in ${limits.windowMs} ms`),
  });
  await app.register(rateLimit, {
    ...common,
    hook: 'preHandler',
    max: limits.perToken,
    nameSpace: `${prefix}token:`,
    ...storeIn(`${prefix}token:`),
    keyGenerator: (request) => callerOf.get(request) ?? '',
    allowList: (request) => !callerOf.has(request),
    errorResponseBuilder: refusal(`for this caller in ${limits.windowMs} ms`),
  });
  return redis;
};
