/**
 * The order-view service: the query side. It runs the order-view projection into its SQLite read model
 * and answers `GET /orders/:orderId` through a read-through cache (Redis shared by the service's
 * instances when given, in process otherwise). `?atLeast=<position>` (from the orders service's answer)
 * waits for the view to reach a command's position. While the store is out of reach, answers come from
 * the cache marked stale (`Annals-Stale`, `Age`).
 */
import {
  createProjectionCache,
  followSource,
  openSqliteReadModel,
  runProjection,
  staleHeaders,
  type CacheTier,
  type EventStore,
} from 'annals';
import Fastify from 'fastify';
import { answerProblems, sendProblem } from '../http.js';
import { orderView, readOrder, type OrderRow } from './projection.js';

export interface OrderViewOptions {
  /** The read model's file (`:memory:` for tests). */
  path: string;
  /** A cache tier shared by instances (Redis); in process only when absent. */
  shared?: CacheTier;
}

export const orderViewService = async (store: EventStore, { path, shared }: OrderViewOptions) => {
  const model = await openSqliteReadModel(path);
  const cache = createProjectionCache<OrderRow>({
    projection: orderView.name,
    version: orderView.version,
    load: async (orderId) => readOrder(model.db, orderId),
    position: async () => (await model.builds(orderView.name)).find((build) => build.active)?.position ?? 0n,
    ...(shared === undefined ? {} : { shared }),
  });
  await cache.ready;
  // Reporting to the store's projection registry lets operators replay and rebuild the view from anywhere
  // (`annals replay --projection order-view`, `POST /projections/order-view/replay`).
  const runner = runProjection(store, orderView, model, {
    onCommit: (commit) => void cache.onCommit(commit),
    registry: store.projections,
    heartbeatSeconds: 2,
  });
  const stopping = new AbortController();
  const following = followSource(store, cache, { signal: stopping.signal });

  const app = Fastify({ logger: false });
  answerProblems(app);
  app.get<{ Params: { orderId: string }; Querystring: { atLeast?: string } }>('/orders/:orderId', async (request, reply) => {
    const { atLeast } = request.query;
    if (atLeast !== undefined && !/^\d{1,19}$/.test(atLeast)) {
      return sendProblem(reply, 400, 'invalid_argument', `atLeast is ${JSON.stringify(atLeast)}; allowed: a position (digits)`);
    }
    const result = await cache.get(request.params.orderId, atLeast === undefined ? {} : { atLeastPosition: BigInt(atLeast) });
    if (result.value === undefined) return sendProblem(reply, 404, 'not_found', `no order ${request.params.orderId}`);
    return reply.headers(staleHeaders(result)).send(result.value);
  });
  app.get('/health/ready', async () => ({ status: 'ready', projection: runner.status().state }));
  app.addHook('onClose', async () => {
    stopping.abort();
    await runner.close();
    await following;
    await cache.close();
    await model.close();
  });
  return { app, runner };
};
