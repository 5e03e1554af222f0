import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { openEventStore } from '../engines/open.js';
import { createSqliteReadModel } from '../engines/sqlite/read-model.js';
import { InvalidArgumentError } from '../store/errors.js';
import { defineProjection } from './define.js';
import { customerTotals, placeOrders, totalsRows } from './testing/customer-totals.js';
import { runProjection, type ProjectionRunner, type RunnerState } from './run.js';

const dir = mkdtempSync(join(tmpdir(), 'annals-projection-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let count = 0;

const expectedTotals = (count: number) => {
  const rows = new Map<string, { total: number; orders: number }>();
  for (let index = 0; index < count; index++) {
    const row = rows.get(`c${index % 7}`) ?? { total: 0, orders: 0 };
    rows.set(`c${index % 7}`, { total: row.total + index + 1, orders: row.orders + 1 });
  }
  return [...rows.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([customer, row]) => ({ customer, ...row }));
};

const until = async (runner: ProjectionRunner, check: (state: RunnerState, position: bigint) => boolean) => {
  for (let waited = 0; !check(runner.status().state, runner.status().position); waited += 10) {
    if (waited > 10_000)
      assert.fail(`the runner did not get there: ${JSON.stringify(runner.status(), (_, v) => (typeof v === 'bigint' ? String(v) : v))}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
};

describe('projections on a SQLite read model', () => {
  it('applies history in batches and live events as they come, with the checkpoint in the same file', async () => {
    const store = await openEventStore({ engine: 'memory' });
    await placeOrders(store, 2500);
    await store.append('other', [{ type: 'Ignored', data: {} }]);
    const model = createSqliteReadModel(join(dir, `model-${++count}.db`));
    const runner = runProjection(store, customerTotals(), model, { batchSize: 1000 });
    await until(runner, (state, position) => state === 'live' && position === 2501n);
    await placeOrders(store, 10, 2500);
    await until(runner, (_, position) => position === 2511n);
    assert.deepEqual(totalsRows(model.db), expectedTotals(2510));
    await runner.close();
    assert.equal(runner.status().state, 'stopped');
    await model.close();
    await store.close();
  });

  it('takes up from its checkpoint after a stop, and ends equal to a clean rebuild', async () => {
    const store = await openEventStore({ engine: 'memory' });
    await placeOrders(store, 3000);
    const path = join(dir, `model-${++count}.db`);
    for (let round = 0; round < 3; round++) {
      const model = createSqliteReadModel(path);
      const runner = runProjection(store, customerTotals(), model, { batchSize: 100 });
      await until(runner, (_, position) => position >= BigInt(1000 * (round + 1)));
      await runner.close();
      await model.close();
      await placeOrders(store, 5, 3000 + round * 5);
    }
    const model = createSqliteReadModel(path);
    const runner = runProjection(store, customerTotals(), model);
    await until(runner, (state, position) => state === 'live' && position === 3015n);
    assert.deepEqual(totalsRows(model.db), expectedTotals(3015));
    await runner.close();
    await model.close();
    await store.close();
  });

  it('stops on a handler that throws, with the event named and nothing of its batch applied; other projections go on', async () => {
    const store = await openEventStore({ engine: 'memory' });
    await placeOrders(store, 50);
    const model = createSqliteReadModel(join(dir, `model-${++count}.db`));
    const logged: [object, string][] = [];
    const logger = { info: () => undefined, error: (details: object, message: string) => void logged.push([details, message]) };
    const failing = runProjection(store, customerTotals({ poison: 30 }), model, { batchSize: 20, logger });
    const healthy = runProjection(store, customerTotals({ name: 'healthy-totals', table: 'healthy' }), model);
    await failing.done;
    const status = failing.status();
    assert.equal(status.state, 'failed');
    assert.equal(status.position, 20n, 'the first batch of 20 is in; the second, which holds the poison, is not');
    assert.match(status.lastError!.message, /cannot take a total of 30/);
    assert.deepEqual([status.lastError!.eventType, status.lastError!.position], ['OrderPlaced', 30n]);
    assert.deepEqual(logged, [
      [
        {
          projection: 'customer-totals',
          version: 1,
          message: 'cannot take a total of 30',
          eventId: status.lastError!.eventId,
          eventType: 'OrderPlaced',
          position: '30',
        },
        'projection customer-totals failed',
      ],
    ]);
    assert.deepEqual(totalsRows(model.db), expectedTotals(20));
    await until(healthy, (_, position) => position === 50n);
    assert.deepEqual(model.db.prepare('SELECT customer, total, orders FROM healthy ORDER BY customer').all(), expectedTotals(50));
    await healthy.close();
    await model.close();
    await store.close();
  });

  it('two runners of one version never both apply an event: the one that loses the checkpoint stops', async () => {
    const store = await openEventStore({ engine: 'memory' });
    const path = join(dir, `model-${++count}.db`);
    const [first, second] = [createSqliteReadModel(path), createSqliteReadModel(path)];
    const runners = [
      runProjection(store, customerTotals(), first!, { batchSize: 1 }),
      runProjection(store, customerTotals(), second!, { batchSize: 1 }),
    ];
    await until(runners[0]!, (state) => state === 'live');
    await until(runners[1]!, (state) => state === 'live');
    for (let index = 0; index < 40; index++) await placeOrders(store, 1, index);
    await until(runners[0]!, () => runners.some((runner) => runner.status().state === 'fenced'));
    const alive = runners.find((runner) => runner.status().state !== 'fenced')!;
    await until(alive, (_, position) => position === 40n);
    assert.deepEqual(totalsRows(first!.db), expectedTotals(40));
    await Promise.all(runners.map((runner) => runner.close()));
    await Promise.all([first!.close(), second!.close()]);
    await store.close();
  });

  it('refuses a bad projection by name', () => {
    const bad = (changes: object) => () => defineProjection({ ...customerTotals(), ...changes } as never);
    assert.throws(
      bad({ name: 'has space' }),
      (error: Error) => error instanceof InvalidArgumentError && /projection name/.test(error.message),
    );
    assert.throws(bad({ version: 0 }), /version is 0; allowed/);
    assert.throws(bad({ handlers: { OrderPlaced: 1 } }), /handlers\['OrderPlaced'\] is 1/);
    assert.throws(bad({ source: { types: 'x' } }), InvalidArgumentError);
  });
});
