/**
 * Chaos in the reference system (issue 14, part 6): the shop under a steady flow of orders through the
 * gateway, with a replica of its Annals server and a disk budget, while faults strike in an order drawn
 * from a seed (`ANNALS_SEED` replays one): the Annals server killed and started again, the order view and
 * consumers killed, the replica killed and started again, the disk budget filled (then raised, as an
 * operator would). Each outage must show in health and metrics, the read-only one must fire its alert at
 * the webhook, and at the end no acknowledged order is lost, every one is shipped, the replica holds the
 * primary's log, and the order view equals a clean rebuild of it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect, type EventStore } from 'annals/client';
import { openSqliteReadModel, runProjection } from 'annals';
import { freePort } from '../../src/cli/testing/processes.js';
import { seededRandom, withSeed } from '../../src/testing/seed.js';
import { until } from '../../src/testing/until.js';
import { orderStream } from './order.js';
import { orderView, type OrderRow } from './order-view/projection.js';
import { startShop, type Shop } from './system.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const budgetBytes = 4 * 1024 * 1024;

const json = async (url: string) => {
  const answer = await fetch(url, { signal: AbortSignal.timeout(2000) });
  return { status: answer.status, body: (await answer.json()) as Record<string, unknown> };
};

/** A receiver of the alert webhook: every alert it was sent, in order. */
const alertReceiver = async () => {
  const alerts: { alert: string; status: string; labels: Record<string, string> }[] = [];
  const server: Server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      alerts.push(...(JSON.parse(body) as { alerts: typeof alerts }).alerts);
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}/alerts`, alerts, close: () => new Promise((resolve) => server.close(resolve)) };
};

describe('the shop under chaos', { timeout: 240_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'annals-chaos-'));
  let shop: Shop;
  let store: EventStore;
  let receiver: Awaited<ReturnType<typeof alertReceiver>>;

  before(async () => {
    receiver = await alertReceiver();
    shop = await startShop({
      dir,
      ports: {
        annals: await freePort(),
        gateway: await freePort(),
        orders: [await freePort(), await freePort()],
        orderView: await freePort(),
      },
      replicaPort: await freePort(),
      rateLimit: { perToken: 100_000, perAddress: 100_000, windowMs: 1000 },
      healthIntervalMs: 200,
      annalsEnv: { ANNALS_MAX_SIZE: String(budgetBytes), ANNALS_ALERT_WEBHOOK: receiver.url, ANNALS_ALERT_INTERVAL: '0.3' },
    });
    store = connect(shop.annalsUrl);
  });
  after(async () => {
    await store?.close();
    await shop?.stop();
    await receiver?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const kill = async (name: string) => {
    const each = shop.process(name);
    each.child.kill('SIGKILL');
    await each.exited;
  };

  /** Each fault: strikes, checks that it shows, and ends with the shop whole again. */
  const faults: Record<string, () => Promise<void>> = {
    'kill -9 the Annals server': async () => {
      await kill('annals');
      // The replica loses its primary and says so.
      await until(
        async () => {
          const { body } = await json(`${shop.replicaUrl}/health/ready`);
          const replica = body.replica as { live: boolean; lagSeconds: number };
          return !replica.live && replica.lagSeconds > 0;
        },
        'the replica to report its primary gone',
        30_000,
      );
      await sleep(500);
      await shop.restart('annals');
    },
    'kill -9 the order view': async () => {
      await kill('order-view');
      await until(
        async () => {
          const metrics = await (await fetch(`${shop.gatewayUrl}/metrics`)).text();
          return /annals_gateway_upstream_healthy\{route="\/view",upstream="[^"]+"\} 0/.test(metrics);
        },
        'the gateway to take the order view out of rotation',
        30_000,
      );
      await shop.restart('order-view');
    },
    'kill -9 consumers': async () => {
      await kill('payments-a');
      await kill('shipping-b');
      await sleep(500);
      await shop.restart('payments-a');
      await shop.restart('shipping-b');
    },
    'kill -9 the replica': async () => {
      await kill('replica');
      await sleep(300);
      await shop.restart('replica');
    },
    'fill the disk budget': async () => {
      const filler = 'x'.repeat(256 * 1024);
      for (let index = 0; ; index++) {
        const answer = await fetch(`${shop.annalsUrl}/streams/filler-${index}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ events: [{ type: 'Filler', data: { filler } }] }),
        });
        if (answer.status === 503) break;
        assert.equal(answer.status, 200, `filling: ${answer.status}`);
        assert.ok(index < 100, 'the disk budget is reached');
      }
      const { body } = await json(`${shop.annalsUrl}/health/ready`);
      assert.deepEqual([body.status, body.reason], ['read_only', 'disk_budget']);
      assert.match(await (await fetch(`${shop.annalsUrl}/metrics`)).text(), /annals_read_only\{reason="disk_budget"\} 1/);
      await until(
        async () =>
          receiver.alerts.some(
            (each) => each.alert === 'AnnalsReadOnly' && each.status === 'firing' && each.labels.reason === 'disk_budget',
          ),
        'the read-only alert at the webhook',
        30_000,
      );
      // The operator's answer: a larger budget.
      await kill('annals');
      await shop.restart('annals', { ANNALS_MAX_SIZE: String(16 * budgetBytes) });
    },
  };

  it(`loses no acknowledged order, shows every outage, and ends with views equal to the log`, async (t) =>
    withSeed(import.meta.url, async (seed) => {
      const random = seededRandom(seed);
      const acknowledged = new Map<string, string>();
      let refused = 0;
      let flowing = true;
      const flow = (async () => {
        for (let index = 0; flowing; index++) {
          const answer = await fetch(`${shop.gatewayUrl}/orders`, {
            method: 'POST',
            headers: {
              authorization: `Bearer ${shop.tokens.user}`,
              'content-type': 'application/json',
              'idempotency-key': `chaos-${index}`,
            },
            body: JSON.stringify({ customer: `customer-${index}`, lines: [{ sku: 'tea-1', quantity: 1, price: 450 }] }),
            signal: AbortSignal.timeout(15_000),
          }).catch(() => undefined);
          if (answer !== undefined && (answer.status === 200 || answer.status === 201)) {
            const { orderId } = (await answer.json()) as { orderId: string };
            acknowledged.set(orderId, `chaos-${index}`);
          } else refused++;
          await sleep(40);
        }
      })();
      try {
        const order = Object.keys(faults).sort(() => random() - 0.5);
        for (const fault of order) {
          await sleep(300 + random() * 700);
          await faults[fault]!().catch((error: unknown) => {
            throw new Error(`during '${fault}' (faults in order: ${order.join(', ')})`, { cause: error });
          });
        }
        await sleep(1000);
      } finally {
        flowing = false;
        await flow;
      }
      t.diagnostic(`seed ${seed}: ${acknowledged.size} orders acknowledged, ${refused} refused`);
      assert.ok(acknowledged.size >= 20, `orders were acknowledged throughout (${acknowledged.size}, ${refused} refused)`);

      // No acknowledged order is lost: each is in the log, and is carried through to shipped.
      for (const orderId of acknowledged.keys()) {
        const events = await store.readStream(orderStream(orderId));
        assert.equal(events[0]?.type, 'OrderPlaced', `order ${orderId} is in the log`);
      }
      await until(
        async () => {
          for (const orderId of acknowledged.keys()) {
            const events = await store.readStream(orderStream(orderId));
            if (!events.some((event) => event.type === 'OrderShipped')) return false;
          }
          return true;
        },
        'every acknowledged order to be shipped',
        60_000,
      );

      // The replica holds the primary's log, at the same positions.
      const replica = connect(shop.replicaUrl!);
      try {
        const head = (await store.stats()).headPosition;
        await until(async () => (await replica.stats()).headPosition === head, 'the replica to catch up', 30_000);
        const everything = { filter: { includeSystem: true } };
        assert.deepEqual(
          await replica.readAll({ ...everything, from: head - 200n > 0n ? head - 200n : 0n }),
          await store.readAll({ ...everything, from: head - 200n > 0n ? head - 200n : 0n }),
        );
      } finally {
        await replica.close();
      }

      // The order view equals a clean rebuild of the log into a fresh read model.
      const readModel = await openSqliteReadModel(join(dir, 'clean-rebuild.db'));
      const rebuild = runProjection(store, orderView, readModel);
      try {
        const [lastOrderEvent] = await store.readAll({ direction: 'backwards', limit: 1, filter: { category: 'order' } });
        await until(async () => rebuild.status().position >= lastOrderEvent!.position, 'the clean rebuild', 30_000);
        const rows = readModel.db
          .prepare('SELECT order_id AS orderId, customer, total, status, tracking_id AS trackingId FROM orders ORDER BY order_id')
          .all() as OrderRow[];
        assert.ok(rows.length >= acknowledged.size);
        for (const row of rows) {
          await until(
            async () => {
              const answer = await fetch(`${shop.gatewayUrl}/view/orders/${row.orderId}`, {
                headers: { authorization: `Bearer ${shop.tokens.user}` },
              });
              const { orderId, customer, total, status, trackingId } = (await answer.json()) as OrderRow;
              return JSON.stringify({ orderId, customer, total, status, trackingId }) === JSON.stringify(row);
            },
            `the view of order ${row.orderId} to equal the rebuild's ${JSON.stringify(row)}`,
            30_000,
          );
        }
      } finally {
        await rebuild.close();
        await readModel.close();
      }
    }));
});
