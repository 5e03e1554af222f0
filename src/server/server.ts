/**
 * The Annals server (DESIGN.md section 5): Fastify with TypeBox schemas, one plugin per route group,
 * bearer-token authentication on every route that is not public, problem+json errors, Prometheus metrics,
 * and a shutdown that stops taking requests, ends subscriptions, finishes in-flight appends and closes the
 * store.
 */
import { randomUUID } from 'node:crypto';
import cors from '@fastify/cors';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { EventStore } from '../store/event-store.js';
import { checkAccess, type Access } from '../auth/access.js';
import type { AclOperation } from '../store/model.js';
import { createStreamAcls } from '../auth/stream-acl.js';
import type { Authenticator, Principal } from '../auth/tokens.js';
import type { RouteContext } from './context.js';
import { limitConnections, timeoutOptions, type ConnectionLimits } from './connections.js';
import { useCheckedJsonParser } from './json-body.js';
import { sharedCompilers } from './compilers.js';
import { createMetrics } from './metrics.js';
import { createWriteGate } from './write-gate.js';
import { startReplica, type Replica, type ReplicaOptions } from './replica.js';
import { replicaRoutes } from './routes/replica.js';
import { currentConditions } from './alerts/conditions.js';
import { startAlertWebhook } from './alerts/webhook.js';
import { readOnlyReasons, UnavailableError } from '../store/errors.js';
import { toOpenApiDocument } from './openapi.js';
import { errorHandler, notFoundHandler, problem, problemCodeOf, problemOf, sendProblem } from './problems.js';
import { allRoutes } from './routes/all.js';
import { groupRoutes } from './routes/groups.js';
import { operationRoutes } from './routes/operations.js';
import { eventRoutes } from './routes/events.js';
import { snapshotRoutes } from './routes/snapshots.js';
import { projectionRoutes } from './routes/projections.js';
import { streamRoutes } from './routes/streams.js';
import { copyingRoutes } from './routes/copying.js';
import { backupRoutes } from './routes/backup.js';
import { subscribeRoutes } from './routes/subscribe.js';
import type { OpenSubscriptions } from './sse.js';
import { builtUiDir, uiRoutes } from './ui.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
    /** The operation a stream's ACL is asked about. */
    acl?: AclOperation;
    /** A write that read-only mode lets through: promoting a replica. */
    whileReadOnly?: boolean;
  }
  interface FastifyRequest {
    principal: Principal;
  }
}

export interface ServerOptions {
  store: EventStore;
  /** `undefined` turns authentication off (`--dev`): every caller is an unrestricted admin. */
  authenticator: Authenticator | undefined;
  /** A pino logger; none logs nothing. */
  logger?: FastifyBaseLogger;
  /** Largest request body; appends are bounded by the store's own limits too. Default 18 MiB. */
  bodyLimitBytes?: number;
  /**
   * Most open connections served in full, subscriptions included (default 10,000); beyond them the server
   * answers health checks and refuses the rest with 503 (src/server/connections.ts).
   */
  maxConnections?: number;
  /** Longest time to receive a request, headers and body (default 30 s); responses are not bounded. */
  requestTimeoutMs?: number;
  /** Longest time to receive a request's headers (default 10 s, at most requestTimeoutMs). */
  headersTimeoutMs?: number;
  /** How long an idle keep-alive connection stays open (default 5 s). */
  keepAliveTimeoutMs?: number;
  /** Events in a JSON page without a limit (default 100), and at most (default 10,000). */
  defaultPage?: number;
  maxPage?: number;
  /** Most bytes of events in one JSON page (default 4 MiB); a page holds at least one event. */
  maxPageBytes?: number;
  /** Interval of heartbeats on subscriptions. Default 15 s. */
  heartbeatMs?: number;
  /**
   * Origins whose browser pages may call the API (CORS), e.g. `['https://admin.example.com']`; none by
   * default. Tokens still decide what a call may do: CORS only lets the browser send it.
   */
  corsOrigins?: string[];
  /** Refuse every write (503 `unavailable`, reason `flag`) until restarted without it: `--read-only`. */
  readOnly?: boolean;
  /** How often the server probes for writes while read-only for a cause that may pass. Default 5 s. */
  probeIntervalMs?: number;
  /** POST alert conditions as they start and end to this URL (`--alert-webhook`), checked every `intervalMs` (default 15 s). */
  alertWebhook?: { url: string; intervalMs?: number };
  /**
   * Follow a primary as a read-only replica (`--replica-of`): `source` is a client of it with an admin
   * token for every stream, `primary` its URL as health and errors show it.
   */
  replicaOf?: ReplicaOptions;
  /**
   * The folder of the built admin UI served at /ui/ (`npm run build:ui` makes dist/ui, found by default);
   * `false` serves none. Without a built UI, /ui/ says how to build it.
   */
  uiDir?: string | false;
  /** Close the store when the server closes. Default true. */
  closeStore?: boolean;
  version?: string;
}

/** Methods that write nothing; every other request is a write, refused at once while read-only. */
const readMethods = new Set(['GET', 'HEAD', 'OPTIONS']);

const devPrincipal: Principal = { name: 'dev', role: 'admin', streams: undefined };
const requestIdPattern = /^[\w.:-]{1,128}$/;

export const createServer = async (options: ServerOptions): Promise<FastifyInstance> => {
  const { store, authenticator } = options;
  const requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
  const connectionLimits: ConnectionLimits = {
    maxConnections: options.maxConnections ?? 10_000,
    requestTimeoutMs,
    headersTimeoutMs: options.headersTimeoutMs ?? Math.min(10_000, requestTimeoutMs),
    keepAliveTimeoutMs: options.keepAliveTimeoutMs ?? 5_000,
  };
  const app = Fastify({
    ...timeoutOptions(connectionLimits),
    loggerInstance: options.logger,
    // Requests are logged at debug level by the onResponse hook: at thousands a second, info would drown the log.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: options.bodyLimitBytes ?? 18 * 1024 * 1024,
    requestIdHeader: false,
    genReqId: (request) => {
      const given = request.headers['x-request-id'];
      return typeof given === 'string' && requestIdPattern.test(given) ? given : randomUUID();
    },
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false, verbose: true } },
    schemaController: { compilersFactory: sharedCompilers },
    routerOptions: { maxParamLength: 1024 },
    frameworkErrors: (error, request, reply) => {
      void sendProblem(reply, problemOf(error) ?? problem('invalid_argument', error.message));
    },
  }).withTypeProvider<TypeBoxTypeProvider>();

  let replica: Replica | undefined;
  /** What metrics and alerts watch: a promoted replica is a primary. */
  const following = () => {
    const info = replica?.info();
    return info?.promotedAt === undefined ? info : undefined;
  };
  const metrics = createMetrics(
    store.projections,
    store.groups,
    () => store.diskUsage(),
    // A budget is the store's configuration: the same all its life (a store that cannot answer now has none).
    (await store.diskUsage().catch(() => undefined))?.budgetBytes,
    following,
  );
  const writeGate = createWriteGate({
    ...(options.readOnly === true ? { fixed: 'flag' as const } : options.replicaOf !== undefined ? { fixed: 'replica' as const } : {}),
    probe: () => store.probeWrite(),
    ...(options.probeIntervalMs === undefined ? {} : { probeIntervalMs: options.probeIntervalMs }),
    onChange: (state) => {
      for (const reason of readOnlyReasons) metrics.readOnly.set({ reason }, state?.reason === reason ? 1 : 0);
      if (state === undefined) app.log.warn('writable again: the write probe succeeded');
      else app.log.warn({ reason: state.reason }, 'read-only: writes are refused until the cause goes away');
    },
  });
  for (const reason of readOnlyReasons) metrics.readOnly.set({ reason }, writeGate.readOnly?.reason === reason ? 1 : 0);
  const subscriptions: OpenSubscriptions = new Set();
  let closing = false;
  const context: RouteContext = {
    store,
    metrics,
    sizes: {
      defaultPage: options.defaultPage ?? 100,
      maxPage: options.maxPage ?? 10_000,
      maxPageBytes: options.maxPageBytes ?? 4 * 1024 * 1024,
    },
    heartbeatMs: options.heartbeatMs ?? 15_000,
    subscriptions,
    acls: createStreamAcls(store),
  };
  if (options.replicaOf !== undefined) replica = startReplica(options.replicaOf, { store, writeGate, log: app.log });

  // Bodies are JSON or nothing: a text body is refused as such (415), not taken for a string.
  app.removeContentTypeParser('text/plain');
  useCheckedJsonParser(app);
  app.decorateRequest('principal', null as unknown as Principal);
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler(notFoundHandler);
  limitConnections(app, connectionLimits);
  // Before authentication, so that a browser's preflight (which carries no token) is answered.
  if (options.corsOrigins !== undefined && options.corsOrigins.length > 0) {
    await app.register(cors, {
      origin: options.corsOrigins,
      allowedHeaders: ['authorization', 'content-type', 'accept', 'last-event-id', 'x-request-id'],
      exposedHeaders: ['x-request-id', 'location'],
      methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
      maxAge: 600,
    });
  }
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    // A route that forgets to say who may call it is for admins only.
    const { access = 'admin', acl, whileReadOnly } = request.routeOptions.config;
    if (access === 'public') return;
    replica?.checkReplicated(request.url);
    request.principal = authenticator === undefined ? devPrincipal : authenticator.authenticate(request.headers.authorization);
    const stream = (request.params as { stream?: string } | undefined)?.stream;
    checkAccess(request.principal, access, stream);
    if (acl !== undefined && stream !== undefined) await context.acls.check(request.principal, stream, acl);
    if (!readMethods.has(request.method) && whileReadOnly !== true) writeGate.check();
  });
  app.addHook('onError', async (_request, reply, error) => {
    writeGate.observe(error);
    if (error instanceof UnavailableError && error.reason !== undefined) reply.header('retry-after', String(writeGate.retryAfterSeconds));
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unknown';
    metrics.requests.observe({ method: request.method, route, status: reply.statusCode }, reply.elapsedTime / 1000);
    const code = problemCodeOf(reply);
    if (code !== undefined) metrics.errors.inc({ code });
    request.log.debug({ method: request.method, url: request.url, status: reply.statusCode, ms: reply.elapsedTime }, 'request');
  });
  app.addHook('preClose', async () => {
    closing = true;
    await Promise.all([...subscriptions].map((end) => end()));
  });
  app.addHook('onClose', async () => writeGate.close());
  if (options.alertWebhook !== undefined) {
    const stopWebhook = startAlertWebhook({
      ...options.alertWebhook,
      conditions: () => currentConditions({ writeGate, replica: following, groups: store.groups, projections: store.projections }),
      log: app.log,
    });
    app.addHook('onClose', async () => stopWebhook());
  }
  // Before the store closes: the follower may be writing a batch.
  if (replica !== undefined) app.addHook('preClose', async () => replica.close());
  if (options.closeStore ?? true) app.addHook('onClose', async () => store.close());

  await app.register(swagger, {
    openapi: {
      info: { title: 'Annals', version: options.version ?? '0', description: 'An event store for microservices.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    transformObject: (documents) => toOpenApiDocument((documents as { openapiObject: Record<string, unknown> }).openapiObject),
  });
  // The interactive reference is public, as /openapi.json is: the routes it documents still need tokens.
  await app.register(async (reference) => {
    reference.addHook('onRoute', (route) => {
      route.config = { ...route.config, access: 'public' };
    });
    await reference.register(swaggerUi, { routePrefix: '/docs' });
  });
  if (options.uiDir !== false) await app.register(uiRoutes, { dir: options.uiDir ?? builtUiDir() });
  await app.register(streamRoutes, context);
  await app.register(eventRoutes, context);
  await app.register(allRoutes, context);
  await app.register(subscribeRoutes, context);
  await app.register(groupRoutes, context);
  await app.register(snapshotRoutes, context);
  await app.register(projectionRoutes, context);
  await app.register(copyingRoutes, context);
  await app.register(backupRoutes, context);
  await app.register(operationRoutes, { ...context, isClosing: () => closing, version: options.version, writeGate, replica });
  await app.register(replicaRoutes, { ...context, replica });
  return app;
};
