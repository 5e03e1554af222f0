/**
 * The cache fed by a real runner: handlers invalidate the customers they change, the runner calls
 * `onCommit` after each commit, and a rebuild's switch flushes the cache, which follows the new version.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { openEventStore } from '../../engines/open.js';
import { createSqliteReadModel } from '../../engines/sqlite/read-model.js';
import { runProjection } from '../run.js';
import { customerTotals, placeOrders, type Totals } from '../testing/customer-totals.js';
import { createProjectionCache } from './cache.js';

describe('projection cache behind a runner', () => {
  it('serves what the runner committed, read-your-writes through atLeastPosition, across a rebuild', async () => {
    const store = await openEventStore({ engine: 'memory' });
    const model = createSqliteReadModel(':memory:');
    const loads: string[] = [];
    const cache = createProjectionCache<Totals>({
      projection: 'customer-totals',
      version: 1,
      load: async (customer) => {
        loads.push(customer);
        return model.db.prepare('SELECT total, orders FROM totals WHERE customer = ?').get(customer) as Totals | undefined;
      },
      position: async () => (await model.builds('customer-totals')).find((build) => build.active)?.position ?? 0n,
    });
    const runner = runProjection(store, customerTotals(), model, { onCommit: (commit) => void cache.onCommit(commit) });
    try {
      // Orders 0..6 go to customers c0..c6, total index + 1.
      const first = await placeOrders(store, 7);
      assert.deepEqual((await cache.get('c0', { atLeastPosition: first.position })).value, { total: 1, orders: 1 });
      assert.deepEqual((await cache.get('c0')).value, { total: 1, orders: 1 });
      assert.deepEqual(loads, ['c0']);

      // Order 7 is c0's again: the handler invalidates c0, c1 stays cached.
      await cache.get('c1');
      const second = await placeOrders(store, 1, 7);
      assert.deepEqual((await cache.get('c0', { atLeastPosition: second.position })).value, { total: 9, orders: 2 });
      await cache.get('c1');
      assert.deepEqual(loads, ['c0', 'c1', 'c0']);

      // A rebuild switches builds: everything cached is outdated, loaded again from the new build.
      await runner.rebuild();
      await cache.get('c1');
      assert.deepEqual(loads, ['c0', 'c1', 'c0', 'c1']);
      assert.deepEqual((await cache.get('c0')).value, { total: 9, orders: 2 });
    } finally {
      await runner.close();
      await cache.close();
      await model.close();
      await store.close();
    }
  });
});
