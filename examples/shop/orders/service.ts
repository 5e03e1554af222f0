/**
 * The orders service: the command side of the shop. `POST /orders` places an order; the request's
 * `Idempotency-Key` names the command, so a retried request returns the first outcome and writes nothing
 * (the order's id is derived from the key); `x-correlation-id` (set by the gateway) and `traceparent` go
 * into the events. `GET /orders/:orderId` folds the order's stream.
 */
import { createHash, randomUUID } from 'node:crypto';
import { Type, type Static } from '@sinclair/typebox';
import { aggregateStream, handleCommand, type EventStore } from 'annals';
import Fastify from 'fastify';
import { answerProblems, sendProblem } from '../http.js';
import { order, orderStream } from '../order.js';

const PlaceOrder = Type.Object(
  {
    customer: Type.String({ minLength: 1, maxLength: 100 }),
    lines: Type.Array(
      Type.Object(
        {
          sku: Type.String({ pattern: '^[A-Za-z0-9-]{1,40}$' }),
          quantity: Type.Integer({ minimum: 1 }),
          price: Type.Integer({ minimum: 0 }),
        },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: 100 },
    ),
  },
  { additionalProperties: false },
);

const keyPattern = /^[A-Za-z0-9._:-]{1,200}$/;

/** The order's id: the same for every retry of one request. */
const orderIdOf = (idempotencyKey: string) => createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 24);

export const ordersService = (store: EventStore) => {
  const app = Fastify({ logger: false, bodyLimit: 256 * 1024 });
  answerProblems(app);

  app.post<{ Body: Static<typeof PlaceOrder> }>('/orders', { schema: { body: PlaceOrder } }, async (request, reply) => {
    const key = request.headers['idempotency-key'];
    if (typeof key !== 'string' || !keyPattern.test(key)) {
      return sendProblem(
        reply,
        400,
        'invalid_argument',
        `header Idempotency-Key is ${JSON.stringify(key ?? null)}; allowed: 1 to 200 letters, digits, '.', '_', ':' or '-'`,
      );
    }
    const correlationId = typeof request.headers['x-correlation-id'] === 'string' ? request.headers['x-correlation-id'] : randomUUID();
    const traceparent = request.headers.traceparent;
    const orderId = orderIdOf(key);
    const result = await handleCommand(store, orderStream(orderId), { kind: 'place', orderId, ...request.body }, order, {
      commandId: key,
      metadata: { correlationId, ...(typeof traceparent === 'string' ? { traceparent } : {}) },
    });
    const state = result.state as Extract<typeof result.state, { orderId: string }>;
    return reply
      .code(result.replayed ? 200 : 201)
      .header('x-correlation-id', correlationId)
      .header('location', `/orders/${orderId}`)
      .send({ orderId, status: state.status, total: state.total, position: String(result.position ?? 0n), replayed: result.replayed });
  });

  app.get<{ Params: { orderId: string } }>('/orders/:orderId', async (request, reply) => {
    const { orderId } = request.params;
    if (!/^[0-9a-f]{24}$/.test(orderId)) return sendProblem(reply, 404, 'not_found', `no order ${orderId}`);
    const { state, revision } = await aggregateStream(store, orderStream(orderId), order);
    if (state.status === 'none') return sendProblem(reply, 404, 'not_found', `no order ${orderId}`);
    return { ...state, revision };
  });

  app.get('/health/ready', async () => ({ status: 'ready' }));
  return app;
};
