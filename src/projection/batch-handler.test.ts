import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { openEventStore } from '../engines/open.js';
import { defineProjection } from './define.js';
import { createMemoryReadModel, type MemoryDb } from './memory-read-model.js';
import { runProjection } from './run.js';
import { placeOrders, type Totals } from './testing/customer-totals.js';

const batched = (poison?: number, calls: number[] = []) =>
  defineProjection<MemoryDb>({
    name: 'batched-totals',
    version: 1,
    source: { types: ['OrderPlaced'] },
    init: (db, context) => void db.table(context.table('totals')),
    handleBatch: (db, events, context) => {
      calls.push(events.length);
      const rows = db.table<Totals>(context.table('totals'));
      for (const event of events) {
        const { customer, total } = event.data as { customer: string; total: number };
        const row = rows.get(customer) ?? { total: 0, orders: 0 };
        rows.set(customer, { total: row.total + total, orders: row.orders + 1 });
      }
      if (events.some((event) => (event.data as { total: number }).total === poison)) throw new Error(`cannot take ${poison}`);
    },
  });

describe('projections with a batch handler', () => {
  it('defineProjection takes handleBatch instead of handlers when source.types names what it reads, and refuses it otherwise', () => {
    assert.deepEqual(batched().handlers, {});
    const init = () => undefined;
    assert.throws(() => defineProjection({ name: 'p', version: 1, init, handleBatch: () => undefined }), /handleBatch reads source.types/);
    assert.throws(() => defineProjection({ name: 'p', version: 1, init, handlers: {}, handleBatch: 5 as never }), /handleBatch is 5/);
    assert.throws(() => defineProjection({ name: 'p', version: 1, init }), /handlers is undefined/);
    assert.throws(
      () => defineProjection({ name: 'p', version: 1, init, source: { types: ['A'] }, handlers: { A: init }, handleBatch: init }),
      /handlers and handleBatch are both given/,
    );
  });

  it('gets each batch in one call, never an empty one, and ends at the totals of the log', async () => {
    const store = await openEventStore({ engine: 'memory' });
    await placeOrders(store, 250);
    await store.append('other', [{ type: 'Unrelated', data: {} }]);
    const calls: number[] = [];
    const model = createMemoryReadModel();
    const runner = runProjection(store, batched(undefined, calls), model, { batchSize: 100 });
    for (let waited = 0; runner.status().position < 251n; waited += 5) {
      assert.ok(waited < 10_000, `stuck at ${runner.status().position}`);
      await sleep(5);
    }
    assert.deepEqual(calls.slice(0, 3), [100, 100, 50]);
    assert.ok(calls.every((count) => count > 0));
    const rows = [...model.db.table<Totals>('totals').values()];
    assert.equal(
      rows.reduce((sum, row) => sum + row.orders, 0),
      250,
    );
    await runner.close();
    await store.close();
  });

  it("a throw undoes the batch and stops the runner with the batch's first event", async () => {
    const store = await openEventStore({ engine: 'memory' });
    const { position } = await placeOrders(store, 30);
    const model = createMemoryReadModel();
    const runner = runProjection(store, batched(25), model, { batchSize: 10 });
    await runner.done;
    const status = runner.status();
    assert.equal(status.state, 'failed');
    assert.equal(status.position, 20n);
    assert.equal(status.lastError?.position, position - 9n, 'the first event of the third batch');
    assert.match(status.lastError?.message ?? '', /cannot take 25/);
    assert.equal(
      [...model.db.table<Totals>('totals').values()].reduce((sum, row) => sum + row.orders, 0),
      20,
    );
    await store.close();
  });
});
