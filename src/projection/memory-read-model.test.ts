import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { openEventStore } from '../engines/open.js';
import { createMemoryReadModel } from './memory-read-model.js';
import { runProjection, type ProjectionRunner } from './run.js';
import { memoryCustomerTotals, placeOrders, type Totals } from './testing/customer-totals.js';

const totals = memoryCustomerTotals;

const until = async (runner: ProjectionRunner, done: () => boolean) => {
  for (let waited = 0; !done(); waited += 5) {
    assert.ok(waited < 10_000, `stuck: ${runner.status().state} at ${runner.status().position}`);
    await sleep(5);
  }
};

describe('projections on an in-memory read model', () => {
  it('applies history and live events once each', async () => {
    const store = await openEventStore({ engine: 'memory' });
    await placeOrders(store, 1500);
    const model = createMemoryReadModel();
    const runner = runProjection(store, totals(), model);
    await until(runner, () => runner.status().position === 1500n);
    await placeOrders(store, 5, 1500);
    await until(runner, () => runner.status().position === 1505n);
    const rows = [...model.db.table<Totals>('totals').values()];
    assert.equal(
      rows.reduce((sum, row) => sum + row.orders, 0),
      1505,
    );
    assert.equal(
      rows.reduce((sum, row) => sum + row.total, 0),
      (1505 * 1506) / 2,
    );
    await runner.close();
    await store.close();
  });

  it('undoes the whole batch of a handler that throws, changes made before the throw included', async () => {
    const store = await openEventStore({ engine: 'memory' });
    await placeOrders(store, 30);
    const model = createMemoryReadModel();
    const runner = runProjection(store, totals(25), model, { batchSize: 10 });
    await runner.done;
    assert.equal(runner.status().state, 'failed');
    assert.equal(runner.status().position, 20n);
    const orders = [...model.db.table<Totals>('totals').values()].reduce((sum, row) => sum + row.orders, 0);
    assert.equal(orders, 20, 'events 21 to 25 of the failed batch are undone');
    await store.close();
  });

  it('fences a second runner of the same version', async () => {
    const store = await openEventStore({ engine: 'memory' });
    const model = createMemoryReadModel();
    const runners = [runProjection(store, totals(), model, { batchSize: 1 }), runProjection(store, totals(), model, { batchSize: 1 })];
    await until(runners[0]!, () => runners.every((runner) => runner.status().state === 'live'));
    await placeOrders(store, 10);
    await until(runners[0]!, () => runners.some((runner) => runner.status().state === 'fenced'));
    const alive = runners.find((runner) => runner.status().state !== 'fenced')!;
    await until(alive, () => alive.status().position === 10n);
    assert.equal(
      [...model.db.table<Totals>('totals').values()].reduce((sum, row) => sum + row.orders, 0),
      10,
    );
    await Promise.all(runners.map((runner) => runner.close()));
    await store.close();
  });
});
