/**
 * The shop through its real processes: an Annals server, orders, order-view (its cache in Redis), and two consumers each of
 * payments and shipping. Orders placed over HTTP are paid, shipped and seen shipped in the view; a payments
 * consumer killed with SIGKILL leaves its work to the other; a retried request places one order.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../../src/cli/testing/processes.js';
import { redisSkipReason, redisTestUrl } from '../../src/engines/redis/testing/test-redis.js';
import { startShop } from './system.js';

describe('the shop as processes', { timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'annals-shop-e2e-'));
  let shop: Awaited<ReturnType<typeof startShop>>;
  let ports: { annals: number; orders: number; orderView: number };

  before(async () => {
    ports = { annals: await freePort(), orders: await freePort(), orderView: await freePort() };
    const redisUrl = (await redisSkipReason()) === undefined ? redisTestUrl() : undefined;
    shop = await startShop({ dir, ports, ...(redisUrl === undefined ? {} : { redisUrl }) });
  });
  after(async () => {
    await shop?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const place = async (key: string) => {
    const answer = await fetch(`http://127.0.0.1:${ports.orders}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': key },
      body: JSON.stringify({ customer: `customer-${key}`, lines: [{ sku: 'tea-1', quantity: 1, price: 450 }] }),
    });
    return { status: answer.status, body: (await answer.json()) as { orderId: string; replayed: boolean } };
  };
  const shipped = async (orderIds: string[]) => {
    for (let waited = 0; ; waited += 50) {
      const statuses = await Promise.all(
        orderIds.map(async (orderId) => {
          const answer = await fetch(`http://127.0.0.1:${ports.orderView}/orders/${orderId}`);
          return answer.status === 200 ? ((await answer.json()) as { status: string }).status : String(answer.status);
        }),
      );
      if (statuses.every((status) => status === 'shipped')) return;
      assert.ok(waited < 30_000, `not all shipped: ${statuses.join(', ')}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };

  it('pays and ships orders placed over HTTP, also with a payments consumer killed', async () => {
    const first = await place('e2e-1');
    assert.equal(first.status, 201);
    await shipped([first.body.orderId]);

    const killed = shop.processes.find((each) => each.name === 'payments-a')!;
    killed.child.kill('SIGKILL');
    await killed.exited;
    const more = await Promise.all(Array.from({ length: 10 }, (_, index) => place(`e2e-more-${index}`)));
    await shipped(more.map((each) => each.body.orderId));
  });

  it('a retried request places one order', async () => {
    const [first, again] = [await place('e2e-retry'), await place('e2e-retry')];
    assert.deepEqual([first.status, again.status, again.body.replayed], [201, 200, true]);
    assert.equal(again.body.orderId, first.body.orderId);
  });
});
