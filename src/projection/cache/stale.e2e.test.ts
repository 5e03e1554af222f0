/**
 * The cache while the store is down, end to end: an Annals server process, a projection runner feeding a
 * SQLite read model from it, and two instances of a query service sharing Redis, each following its own
 * connection to the store. With the server stopped, both serve the last known entries marked stale, since
 * the stop; once it is back, both serve fresh data, including what was written after it returned.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort, serve, stop, type ServerProcess } from '../../cli/testing/processes.js';
import { connect } from '../../client/connect.js';
import { createRedisCacheTier } from '../../engines/redis/cache-tier.js';
import { dropPrefix, freshPrefix, redisSkipReason, redisTestUrl } from '../../engines/redis/testing/test-redis.js';
import { createSqliteReadModel } from '../../engines/sqlite/read-model.js';
import { runProjection } from '../run.js';
import { customerTotals, placeOrders, type Totals } from '../testing/customer-totals.js';
import { createProjectionCache, type CacheResult } from './cache.js';
import { followSource } from './follow-source.js';

const skip = await redisSkipReason();
const dir = mkdtempSync(join(tmpdir(), 'annals-cache-stale-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const until = async (what: string, check: () => Promise<boolean>) => {
  for (let waited = 0; !(await check()); waited += 50) {
    if (waited > 20_000) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
};

describe('the cache while the store is down, with Redis shared by two instances', { skip }, () => {
  const prefix = freshPrefix();
  let port: number;
  let server: ServerProcess;
  const data = join(dir, 'store');
  const start = async () => (server = await serve(['--port', String(port), '--dev', '--data', data]));
  before(async () => {
    port = await freePort();
    await start();
  });
  after(async () => {
    await stop(server);
    await dropPrefix(prefix);
  });

  it(
    'serves stale entries, marked since the stop, while the server is stopped, and fresh ones after it returns',
    { timeout: 60_000 },
    async () => {
      const store = connect(`http://127.0.0.1:${port}`);
      const model = createSqliteReadModel(join(dir, 'model.db'));
      const query = (customer: string) =>
        model.db.prepare('SELECT total, orders FROM totals WHERE customer = ?').get(customer) as Totals | undefined;
      const position = async () => (await model.builds('customer-totals')).find((build) => build.active)?.position ?? 0n;
      const stopping = new AbortController();
      const instance = async () => {
        const shared = await createRedisCacheTier({ url: redisTestUrl(), prefix });
        const cache = createProjectionCache<Totals>({
          projection: 'customer-totals',
          version: 1,
          load: async (customer) => query(customer),
          position,
          shared,
          maxStaleSeconds: 60,
        });
        await cache.ready;
        const following = followSource(store, cache, { signal: stopping.signal, intervalMs: 100 });
        return { cache, shared, following };
      };
      const [first, second] = [await instance(), await instance()];
      const runner = runProjection(store, customerTotals(), model, { onCommit: (commit) => void first.cache.onCommit(commit) });
      const fresh = (result: CacheResult<Totals>) => result.stale === false;
      try {
        const placed = await placeOrders(store, 14);
        for (const { cache } of [first, second]) {
          const result = await cache.get('c0', { atLeastPosition: placed.position });
          assert.deepEqual([result.value, fresh(result)], [{ total: 1 + 8, orders: 2 }, true]);
        }

        const stoppedAt = new Date();
        await stop(server);
        for (const { cache } of [first, second]) {
          await until('the instance to serve stale', async () => !fresh(await cache.get('c0')));
          const result = await cache.get('c0');
          assert.equal(result.stale, true);
          assert.deepEqual(result.value, { total: 9, orders: 2 }, 'the last known entry');
          assert.ok(result.stale && result.staleSince >= new Date(stoppedAt.getTime() - 1000) && result.staleSince <= new Date());
        }

        await start();
        const later = await placeOrders(store, 1, 14);
        for (const { cache } of [first, second]) {
          await until('the instance to serve fresh', async () => fresh(await cache.get('c0')));
          const result = await cache.get('c0', { atLeastPosition: later.position });
          assert.deepEqual([result.value, fresh(result)], [{ total: 9 + 15, orders: 3 }, true], 'order 14 is c0 again');
        }
      } finally {
        stopping.abort();
        await runner.close();
        await Promise.all(
          [first, second].map(async ({ cache, shared, following }) => (await following, await cache.close(), await shared.close())),
        );
        await model.close();
        await store.close();
      }
    },
  );
});
