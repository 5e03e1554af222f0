/**
 * Every hop of the shop through its real processes. The command flow: user -> the gateway's balancer ->
 * a gateway worker -> orders -> Annals -> consumer groups -> payments and shipping -> their commands, with
 * snapshots. The query flow: the log -> the order-view projection (rebuilt while orders keep flowing) ->
 * its SQLite read model -> the cache (Redis when one answers) -> the gateway -> the user. On the way: a
 * gateway worker, an orders instance and a payments consumer killed, a burst over the rate limit, and a
 * retried command.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { aggregateStream, connect } from 'annals/client';
import { freePort } from '../../src/cli/testing/processes.js';
import { redisSkipReason, redisTestUrl } from '../../src/engines/redis/testing/test-redis.js';
import { getFresh } from '../../src/gateway/testing/upstreams.js';
import { until } from '../../src/testing/until.js';
import { order, orderStream } from './order.js';
import { startShop, type Shop } from './system.js';

const perToken = 100;
const windowMs = 1000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the shop as processes, behind the gateway', { timeout: 180_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'annals-shop-e2e-'));
  let shop: Shop;
  let store: ReturnType<typeof connect>;

  before(async () => {
    const ports = {
      annals: await freePort(),
      gateway: await freePort(),
      orders: [await freePort(), await freePort()] as [number, number],
      orderView: await freePort(),
    };
    const redisUrl = (await redisSkipReason()) === undefined ? redisTestUrl() : undefined;
    shop = await startShop({
      dir,
      ports,
      ...(redisUrl === undefined ? {} : { redisUrl }),
      rateLimit: { perToken, perAddress: 100_000, windowMs },
      healthIntervalMs: 200,
    });
    store = connect(shop.annalsUrl);
  });
  after(async () => {
    await store?.close();
    await shop?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const auth = (token = shop.tokens.user) => ({ authorization: `Bearer ${token}` });
  /** Every order this file placed: the rebuild's case checks them all in the view. */
  const everyOrder = new Set<string>();
  const place = async (key: string) => {
    const answer = await fetch(`${shop.gatewayUrl}/orders`, {
      method: 'POST',
      headers: { ...auth(), 'content-type': 'application/json', 'idempotency-key': key },
      body: JSON.stringify({ customer: `customer-${key}`, lines: [{ sku: 'tea-1', quantity: 1, price: 450 }] }),
    });
    assert.ok([200, 201].includes(answer.status), `placing ${key}: ${answer.status} ${await answer.clone().text()}`);
    const body = (await answer.json()) as { orderId: string; replayed: boolean };
    everyOrder.add(body.orderId);
    return { status: answer.status, headers: answer.headers, body };
  };
  const viewOf = async (orderId: string) => {
    const answer = await fetch(`${shop.gatewayUrl}/view/orders/${orderId}`, { headers: auth() });
    return answer.status === 200 ? ((await answer.json()) as { status: string }).status : String(answer.status);
  };
  /** Waits until the view, through the gateway, shows every order shipped (a few requests a round, within the rate limit). */
  const shipped = async (orderIds: string[]) => {
    const deadline = Date.now() + 30_000;
    for (const orderId of orderIds) {
      for (let status = await viewOf(orderId); status !== 'shipped'; status = await viewOf(orderId)) {
        assert.ok(Date.now() < deadline, `order ${orderId} is ${status}, not shipped`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  };
  const metrics = async () => (await getFresh(`${shop.gatewayUrl}/metrics`)).body;
  const healthOf = (text: string, upstream: string) =>
    new RegExp(`annals_gateway_upstream_healthy\\{route="/orders",upstream="${upstream}"\\} (\\d)`).exec(text)?.[1];

  it('carries an order from the gateway to shipped, under the gateway correlation id, with a snapshot', async () => {
    const placed = await place('e2e-1');
    assert.equal(placed.status, 201);
    const correlationId = placed.headers.get('x-correlation-id');
    assert.match(correlationId ?? '', /^[0-9a-f-]{36}$/);
    await shipped([placed.body.orderId]);

    const events = await store.readStream(orderStream(placed.body.orderId));
    assert.deepEqual(
      events.map((event) => event.type),
      ['OrderPlaced', 'OrderPaid', 'OrderShipped'],
    );
    for (const event of events) assert.equal(event.metadata.correlationId, correlationId, `${event.type} carries the correlation id`);
    assert.match(String(events[0]!.metadata.traceparent), /^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);
    assert.equal(events[1]!.metadata.causationId, events[0]!.id);
    const snapshot = await store.snapshots.read(orderStream(placed.body.orderId), { schemaVersion: 1 });
    assert.ok(snapshot !== undefined && snapshot.revision >= 1, 'payments or shipping left a snapshot');
  });

  it('places one order for a retried command with the same idempotency key', async () => {
    const [first, again] = [await place('e2e-retry'), await place('e2e-retry')];
    assert.deepEqual([first.status, again.status, again.body.replayed], [201, 200, true]);
    assert.equal(again.body.orderId, first.body.orderId);
    const events = await store.readStream(orderStream(first.body.orderId));
    assert.equal(events.filter((event) => event.type === 'OrderPlaced').length, 1);
  });

  it('refuses a burst over the per-token limit with 429, counting over both workers', async () => {
    const { body } = await place('e2e-burst');
    await shipped([body.orderId]);
    // The limit counts in fixed windows: a burst that outlasts one (a loaded machine) is sent again in a fresh one.
    const burst = async () => {
      const started = Date.now();
      const answers = await Promise.all(
        Array.from({ length: perToken + 40 }, () =>
          fetch(`${shop.gatewayUrl}/view/orders/${body.orderId}`, { headers: auth(shop.tokens.other) }),
        ),
      );
      return { answers, took: Date.now() - started };
    };
    let { answers, took } = await burst();
    if (took >= windowMs) {
      await Promise.all(answers.map((answer) => answer.arrayBuffer()));
      await sleep(windowMs);
      ({ answers, took } = await burst());
    }
    assert.ok(took < windowMs, `the burst took ${took} ms, longer than the ${windowMs} ms window`);
    const statuses = answers.map((answer) => answer.status);
    assert.equal(statuses.filter((status) => status === 200).length, perToken, 'exactly the limit passed');
    assert.equal(statuses.filter((status) => status === 429).length, 40, 'the rest were limited');
    for (const limited of answers.filter((answer) => answer.status === 429)) {
      assert.match(limited.headers.get('retry-after') ?? '', /^\d+$/);
      assert.equal(((await limited.json()) as { code: string }).code, 'rate_limited');
    }
  });

  it('keeps taking orders while an orders instance is down, and puts it back when it returns', async () => {
    const [downUrl] = shop.ordersUrls;
    const killed = shop.process('orders-a');
    killed.child.kill('SIGKILL');
    await killed.exited;
    const during = [];
    for (let index = 0; index < 6; index++) during.push(await place(`e2e-down-${index}`));
    assert.ok(during.every((answer) => answer.status === 201));
    for (let tries = 0; healthOf(await metrics(), downUrl!) !== '0'; tries++) {
      assert.ok(tries < 50, 'the gateway took the instance out');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await shop.restart('orders-a');
    for (let tries = 0; healthOf(await metrics(), downUrl!) !== '1'; tries++) {
      assert.ok(tries < 50, 'the gateway put the instance back');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const served = () => {
      const match = new RegExp(
        `annals_gateway_request_duration_seconds_count\\{route="/orders",status="201",upstream="${downUrl}"\\} (\\d+)`,
      );
      return metrics().then((text) => Number(match.exec(text)?.[1] ?? 0));
    };
    const before = await served();
    for (let index = 0; index < 4; index++) await place(`e2e-back-${index}`);
    assert.ok((await served()) > before, 'orders reach the instance again');
    await shipped(during.map((answer) => answer.body.orderId));
  });

  it('keeps serving when a gateway worker is killed, and the primary starts another', async () => {
    const pidOf = async () => (JSON.parse((await getFresh(`${shop.gatewayUrl}/health/live`)).body) as { pid: number }).pid;
    const pids = new Set<number>();
    for (let tries = 0; pids.size < 2 && tries < 20; tries++) pids.add(await pidOf());
    assert.equal(pids.size, 2);
    const [victim] = [...pids];
    process.kill(victim!, 'SIGKILL');
    // A connection handed to the worker in the instant it dies is lost with it (docs/gateway.md): until the
    // primary has noticed, a request may go unanswered, so this wait gives each one a short time bound.
    const restarted = () =>
      getFresh(`${shop.gatewayUrl}/metrics`, 1000).then(
        (answer) => /annals_gateway_worker_restarts_total 1\n/.test(answer.body),
        () => false,
      );
    await until(restarted, 'the primary to notice the dead worker', 15_000);
    const placed = [];
    for (let index = 0; index < 6; index++) placed.push(await place(`e2e-worker-${index}`));
    // The new worker starts a process of its own, which takes seconds on a loaded machine: a time bound, not a count.
    const seen = new Set<number>();
    for (const deadline = Date.now() + 30_000; Date.now() < deadline && [...seen].every((pid) => pids.has(pid));) {
      seen.add(await pidOf());
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.ok(!seen.has(victim!) && [...seen].some((pid) => !pids.has(pid)), 'a new worker serves');
    await shipped(placed.map((answer) => answer.body.orderId));
  });

  it('rebuilds order-view while orders keep flowing and a payments consumer is killed; the view ends equal to the log', async () => {
    const before = [(await place('e2e-before-0')).body.orderId, (await place('e2e-before-1')).body.orderId];
    await shipped(before);
    const during: string[] = [];
    let flowing = true;
    const flow = (async () => {
      for (let index = 0; flowing; index++) {
        during.push((await place(`e2e-flow-${index}`)).body.orderId);
        await sleep(50);
      }
    })();
    try {
      const payments = shop.process('payments-a');
      payments.child.kill('SIGKILL');
      await payments.exited;

      const { requestId } = await store.projections.replay('order-view', { rebuild: true });
      // A rebuild is done once its build has caught up and been made the active one.
      for (let tries = 0; ; tries++) {
        const request = (await store.projections.info('order-view')).requests.find((each) => each.requestId === requestId);
        if (request?.state === 'done') break;
        assert.ok(request?.state !== 'failed' && tries < 300, `the rebuild: ${JSON.stringify(request)}`);
        await sleep(100);
      }
      await sleep(300);
    } finally {
      flowing = false;
      await flow;
    }
    assert.ok(during.length >= 5, `orders flowed during the rebuild (${during.length})`);
    for (const key of ['e2e-after-0', 'e2e-after-1']) await place(key);

    // Every order of this file (those of the cases before, and before, during and after the rebuild) is
    // shipped in the rebuilt view, as a fold of its stream says.
    const orderIds = [...everyOrder];
    await shipped(orderIds);
    for (const orderId of orderIds) {
      const { state } = await aggregateStream(store, orderStream(orderId), order);
      assert.equal(state.status, 'shipped', `order ${orderId}: the view equals a fold of its stream`);
    }
  });
  it('while the Annals server is down, commands fail fast through the gateway and the view serves, marked stale; then all resumes', async () => {
    const known = await place('e2e-before-outage');
    await shipped([known.body.orderId]);
    const annals = shop.process('annals');
    annals.child.kill('SIGTERM');
    await annals.exited;
    try {
      const started = Date.now();
      const refused = await fetch(`${shop.gatewayUrl}/orders`, {
        method: 'POST',
        headers: { ...auth(), 'content-type': 'application/json', 'idempotency-key': 'e2e-during-outage' },
        body: JSON.stringify({ customer: 'outage', lines: [{ sku: 'tea-1', quantity: 1, price: 450 }] }),
      });
      assert.equal(refused.status, 503);
      assert.equal(((await refused.json()) as { code: string }).code, 'unavailable');
      assert.ok(Date.now() - started < 2000, 'failed fast');

      let view: Response | undefined;
      for (let tries = 0; view?.headers.get('annals-stale') == null; tries++) {
        assert.ok(tries < 100, 'the view marks its answers stale');
        if (tries > 0) await new Promise((resolve) => setTimeout(resolve, 100));
        view = await fetch(`${shop.gatewayUrl}/view/orders/${known.body.orderId}`, { headers: auth() });
      }
      assert.equal(view.status, 200);
      assert.equal(((await view.json()) as { status: string }).status, 'shipped');
      assert.equal((await getFresh(`${shop.gatewayUrl}/health/ready`)).status, 200, 'the orders instances stayed in rotation');
    } finally {
      await shop.restart('annals');
    }
    let after: Response | undefined;
    for (let tries = 0; after?.status !== 201; tries++) {
      assert.ok(tries < 100, `orders resume: ${after?.status}`);
      if (tries > 0) await new Promise((resolve) => setTimeout(resolve, 100));
      after = await fetch(`${shop.gatewayUrl}/orders`, {
        method: 'POST',
        headers: { ...auth(), 'content-type': 'application/json', 'idempotency-key': 'e2e-after-outage' },
        body: JSON.stringify({ customer: 'outage', lines: [{ sku: 'tea-1', quantity: 1, price: 450 }] }),
      });
    }
    await shipped([((await after.json()) as { orderId: string }).orderId]);
  });
});
