/**
 * The shop's services on one embedded store: an order placed through the orders service is paid by the
 * payments consumers, shipped by the shipping consumers, and seen shipped through the order view; a
 * retried request (same Idempotency-Key) places one order; the events carry the request's correlation id.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openEventStore, type EventStore } from 'annals';
import { orderStream } from './order.js';
import { orderViewService } from './order-view/service.js';
import { ordersService } from './orders/service.js';
import { startPayments } from './payments/payments.js';
import { startShipping } from './shipping/shipping.js';

describe('the shop on one store', () => {
  let store: EventStore;
  let orders: ReturnType<typeof ordersService>;
  let view: Awaited<ReturnType<typeof orderViewService>>;
  const consumers: { close(): Promise<void> }[] = [];

  before(async () => {
    store = await openEventStore({ engine: 'memory' });
    orders = ordersService(store);
    view = await orderViewService(store, { path: ':memory:' });
    for (const name of ['a', 'b'])
      consumers.push(await startPayments(store, `payments-${name}`), await startShipping(store, `shipping-${name}`));
  });
  after(async () => {
    await Promise.all(consumers.map((consumer) => consumer.close()));
    await view.app.close();
    await orders.close();
    await store.close();
  });

  const place = (key: string, body: unknown = { customer: 'ada', lines: [{ sku: 'tea-1', quantity: 2, price: 450 }] }) =>
    orders.inject({
      method: 'POST',
      url: '/orders',
      headers: { 'idempotency-key': key, 'x-correlation-id': `corr-${key}` },
      payload: body as object,
    });

  it('places, pays and ships an order, and the view shows it shipped', async () => {
    const placed = await place('req-1');
    assert.equal(placed.statusCode, 201, placed.body);
    const { orderId, total, position } = placed.json() as { orderId: string; total: number; position: string };
    assert.equal(total, 900);
    assert.equal(placed.headers['x-correlation-id'], 'corr-req-1');

    const seen = await view.app.inject({ url: `/orders/${orderId}?atLeast=${position}` });
    assert.equal(seen.statusCode, 200, seen.body);
    assert.equal(seen.json().customer, 'ada');

    for (let waited = 0; ; waited += 20) {
      const current = (await view.app.inject({ url: `/orders/${orderId}` })).json() as { status: string; trackingId: string | null };
      if (current.status === 'shipped') {
        assert.match(current.trackingId!, /^track-/);
        break;
      }
      assert.ok(waited < 10_000, `the order is ${current.status}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const events = await store.readStream(orderStream(orderId));
    assert.deepEqual(
      events.map((event) => event.type),
      ['OrderPlaced', 'OrderPaid', 'OrderShipped'],
    );
    assert.ok(
      events.every((event) => event.metadata.correlationId === 'corr-req-1'),
      'the correlation id follows every hop',
    );
    assert.equal(events[1]!.metadata.causationId, events[0]!.id);
    assert.equal((await orders.inject({ url: `/orders/${orderId}` })).json().status, 'shipped');
  });

  it('a retried request with the same Idempotency-Key places one order', async () => {
    const [first, again] = [await place('req-2'), await place('req-2')];
    assert.deepEqual([first.statusCode, again.statusCode], [201, 200]);
    assert.equal(again.json().orderId, first.json().orderId);
    assert.equal(again.json().replayed, true);
    const placed = (await store.readStream(orderStream(first.json().orderId))).filter((event) => event.type === 'OrderPlaced');
    assert.equal(placed.length, 1);
  });

  it('refuses bad requests with problems naming what is wrong', async () => {
    const missingKey = await orders.inject({
      method: 'POST',
      url: '/orders',
      payload: { customer: 'ada', lines: [{ sku: 'a', quantity: 1, price: 1 }] },
    });
    assert.equal(missingKey.statusCode, 400);
    assert.match(missingKey.json().detail, /Idempotency-Key/);
    const noLines = await place('req-3', { customer: 'ada', lines: [] });
    assert.deepEqual([noLines.statusCode, noLines.headers['content-type']], [400, 'application/problem+json; charset=utf-8']);
    assert.equal((await view.app.inject({ url: '/orders/nope' })).statusCode, 404);
    assert.equal((await view.app.inject({ url: '/orders/x?atLeast=abc' })).statusCode, 400);
  });
});
