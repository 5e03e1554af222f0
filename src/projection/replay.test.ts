import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type Database from 'better-sqlite3';
import { openEventStore } from '../engines/open.js';
import { createSqliteReadModel } from '../engines/sqlite/read-model.js';
import type { EventStore } from '../store/event-store.js';
import { defineProjection } from './define.js';
import type { ProjectionCommit } from './model.js';
import { runProjection, type ProjectionRunner } from './run.js';
import { customerTotals, placeOrders, totalsRows } from './testing/customer-totals.js';

const dir = mkdtempSync(join(tmpdir(), 'annals-replay-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let count = 0;
const modelPath = () => join(dir, `model-${++count}.db`);

const until = async (what: string, check: () => boolean) => {
  for (let waited = 0; !check(); waited += 10) {
    if (waited > 15_000) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
};
const caughtUp = (runner: ProjectionRunner, position: bigint) =>
  until(`position ${position}: ${JSON.stringify(runner.status(), (_, v) => (typeof v === 'bigint' ? String(v) : v))}`, () => {
    const status = runner.status();
    return status.state === 'live' && status.position >= position;
  });
const ordersSeen = (db: Database.Database) =>
  (db.prepare('SELECT coalesce(sum(orders), 0) AS orders FROM totals').get() as { orders: number }).orders;

/** Appends an order every few milliseconds until stopped, as live traffic during a rebuild. */
const keepOrdering = (store: EventStore, start: number) => {
  let next = start;
  let stopped = false;
  const running = (async () => {
    while (!stopped) {
      await placeOrders(store, 1, next++);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  })();
  return async () => {
    stopped = true;
    await running;
    return next;
  };
};

describe('the replay service on a SQLite read model', () => {
  it('rebuilds changed handlers beside the serving version and switches while a reader queries in a loop, seeing no error and no empty result', async () => {
    const store = await openEventStore({ engine: 'memory' });
    await placeOrders(store, 5000);
    const path = modelPath();
    const serving = createSqliteReadModel(path);
    const v1 = runProjection(store, customerTotals(), serving);
    await caughtUp(v1, 5000n);

    const reader = createSqliteReadModel(path);
    const seen: number[] = [];
    let reading = true;
    const readerLoop = (async () => {
      while (reading) {
        seen.push(ordersSeen(reader.db));
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    const stopOrdering = keepOrdering(store, 5000);
    const next = createSqliteReadModel(path);
    const v2 = runProjection(store, customerTotals({ version: 2 }), next, { batchSize: 200, replayRate: 50_000 });
    await until('version 2 to serve', () => v2.status().build !== undefined);
    const placed = await stopOrdering();
    await caughtUp(v2, BigInt(placed));
    reading = false;
    await readerLoop;

    assert.ok(
      seen.every((orders) => orders > 0),
      'never an empty result',
    );
    assert.ok(seen.includes(5000) || seen.some((orders) => orders < 2 * 5000), 'the reader saw version 1 serving');
    assert.equal(ordersSeen(reader.db), 2 * placed, 'version 2 counts each order twice');
    const builds = await next.builds('customer-totals');
    assert.deepEqual(
      builds.map(({ version, active }) => ({ version, active })),
      [
        { version: 1, active: false },
        { version: 2, active: true },
      ],
      'version 1 is kept until dropped',
    );
    await Promise.all([v1.close(), v2.close()]);
    await Promise.all([serving.close(), reader.close(), next.close()]);
    await store.close();
  });

  it('rebuilds the same version on request into a new build, tells caches, and drops the old build after the switch', async () => {
    const store = await openEventStore({ engine: 'memory' });
    await placeOrders(store, 3000);
    const model = createSqliteReadModel(modelPath());
    const commits: ProjectionCommit[] = [];
    const runner = runProjection(store, customerTotals(), model, { onCommit: (commit) => commits.push(commit) });
    await caughtUp(runner, 3000n);
    const before = totalsRows(model.db);
    const stopOrdering = keepOrdering(store, 3000);
    await runner.rebuild();
    const placed = await stopOrdering();
    await caughtUp(runner, BigInt(placed));
    assert.equal(runner.status().build, 2);
    assert.deepEqual(
      (await model.builds('customer-totals')).map(({ build, active }) => ({ build, active })),
      [{ build: 2, active: true }],
    );
    assert.ok(commits.some((commit) => commit.activated && commit.build === 2));
    assert.ok(commits.some((commit) => commit.keys.includes('c3')));
    const rebuiltAt = totalsRows(model.db) as { orders: number }[];
    assert.equal(
      rebuiltAt.reduce((sum, row) => sum + row.orders, 0),
      placed,
    );
    assert.equal(before.length, 7);
    await runner.close();
    await model.close();
    await store.close();
  });

  it('a handler that fails in a rebuild fails the rebuild only: the serving build goes on, the error is visible', async () => {
    const store = await openEventStore({ engine: 'memory' });
    await placeOrders(store, 100);
    const path = modelPath();
    const model = createSqliteReadModel(path);
    const v1 = runProjection(store, customerTotals(), model);
    await caughtUp(v1, 100n);
    const broken = runProjection(store, customerTotals({ version: 2, poison: 40 }), createSqliteReadModel(path));
    await broken.done;
    assert.equal(broken.status().state, 'failed');
    assert.deepEqual([broken.status().lastError?.eventType, broken.status().lastError?.position], ['OrderPlaced', 40n]);
    await placeOrders(store, 1, 100);
    await caughtUp(v1, 101n);
    assert.equal(ordersSeen(model.db), 101);
    assert.deepEqual(
      (await model.builds('customer-totals')).map(({ version }) => version),
      [1],
      'the failed build is dropped',
    );
    await v1.close();
    await model.close();
    await store.close();
  });

  it('replays a subset to one projection only, as replays, keeping its checkpoint; a group replay reaches its group only', async () => {
    const store = await openEventStore({ engine: 'memory' });
    const seen = (name: string) =>
      defineProjection<Database.Database>({
        name,
        version: 1,
        init: (db, context) => void db.exec(`CREATE TABLE ${context.table(name)} (stream TEXT, position INTEGER, replay INTEGER)`),
        handlers: {
          OrderPlaced: (db, event, context) =>
            void db
              .prepare(`INSERT INTO ${context.table(name)} VALUES (?, ?, ?)`)
              .run(event.stream, event.position, context.replay ? 1 : 0),
        },
      });
    await store.append('orders-a', [
      { type: 'OrderPlaced', data: {} },
      { type: 'OrderPlaced', data: {} },
    ]);
    await store.append('orders-b', [{ type: 'OrderPlaced', data: {} }]);
    await store.append('returns-a', [{ type: 'OrderPlaced', data: {} }]);
    await store.groups.create('billing', { from: 'start' });
    const pulled = await store.groups.pull('billing', { consumer: 'b1', max: 10 });
    await store.groups.ack(
      'billing',
      pulled.map((delivery) => delivery.id),
    );
    const model = createSqliteReadModel(modelPath());
    const [first, second] = [runProjection(store, seen('first'), model), runProjection(store, seen('second'), model)];
    await caughtUp(first, 4n);
    await caughtUp(second, 4n);
    const replays = (name: string) => model.db.prepare(`SELECT stream, position FROM ${name} WHERE replay = 1 ORDER BY position`).all();

    await first.replay({ stream: 'orders-a' });
    assert.deepEqual(replays('first'), [
      { stream: 'orders-a', position: 1 },
      { stream: 'orders-a', position: 2 },
    ]);
    await first.replay({ category: 'returns' });
    await first.replay({ from: 3n, to: 3n });
    assert.deepEqual(replays('first').slice(2), [
      { stream: 'orders-b', position: 3 },
      { stream: 'returns-a', position: 4 },
    ]);
    const time = (await store.readAll())[1]!.recordedAt;
    await first.replay({ fromTime: time.toISOString(), toTime: time.toISOString() });
    assert.ok(replays('first').length >= 5, 'the event recorded at that time is replayed');
    assert.deepEqual(replays('second'), [], 'the other projection is untouched');
    assert.equal(pulled.length, 4);
    assert.deepEqual(await store.groups.pull('billing', { consumer: 'b1' }), [], 'and so is the consumer group');
    const replayedBefore = replays('first').length;
    await store.groups.replay('billing', { from: 3n, to: 3n });
    const again = await store.groups.pull('billing', { consumer: 'b1' });
    assert.deepEqual(
      again.map((delivery) => [delivery.event.position, delivery.replay]),
      [[3n, true]],
      'a group replay reaches that group',
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(replays('first').length, replayedBefore, 'and no projection');
    assert.equal(first.status().position, 4n);
    await Promise.all([first.close(), second.close()]);
    await model.close();
    await store.close();
  });

  it('pauses, resumes, and cancels a rebuild (its build dropped, the serving build untouched)', async () => {
    const store = await openEventStore({ engine: 'memory' });
    await placeOrders(store, 2000);
    const model = createSqliteReadModel(modelPath());
    const runner = runProjection(store, customerTotals(), model, { batchSize: 100, replayRate: 2000 });
    await caughtUp(runner, 2000n);
    runner.pause();
    assert.equal(runner.status().state, 'paused');
    await placeOrders(store, 5, 2000);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(runner.status().position, 2000n, 'nothing is applied while paused');
    runner.resume();
    await caughtUp(runner, 2005n);

    const rebuilding = runner.rebuild();
    await until('the rebuild to start', () => (runner.status().rebuild?.position ?? 0n) > 0n);
    await runner.cancel();
    await assert.rejects(rebuilding, /cancelled/);
    assert.equal(runner.status().rebuild, undefined);
    assert.deepEqual(
      (await model.builds('customer-totals')).map(({ build }) => build),
      [1],
    );
    assert.equal(ordersSeen(model.db), 2005);
    await runner.close();
    await model.close();
    await store.close();
  });
});
