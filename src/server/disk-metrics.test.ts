/** The disk gauges: what a scrape shows with and without a budget, on SQLite and in memory. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { openEventStore } from '../engines/open.js';
import { openTestPostgresStore, postgresSkipReason } from '../engines/postgres/testing/test-database.js';
import { serveForTest } from './testing/serve.js';

const dir = mkdtempSync(join(tmpdir(), 'annals-disk-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const gaugeOf = (text: string, name: string): number | undefined => {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
};

const scrape = async (url: string) => (await fetch(`${url}/metrics`)).text();

describe('disk metrics', () => {
  it('SQLite: the file and its log, the budget beside them, and the same in /stats', async () => {
    const path = join(dir, 'budget.db');
    const store = await openEventStore({ path, maxSizeBytes: 64 * 1024 * 1024 });
    const { url, client } = await serveForTest(store);
    try {
      await store.append('order-1', [{ type: 'Placed', data: { text: 'x'.repeat(100_000) } }]);
      const text = await scrape(url);
      const used = gaugeOf(text, 'annals_disk_used_bytes')!;
      const onDisk = statSync(path).size + (statSync(`${path}-wal`, { throwIfNoEntry: false })?.size ?? 0);
      assert.equal(used, onDisk);
      assert.ok(used > 100_000, `${used} bytes hold the 100 kB event`);
      assert.equal(gaugeOf(text, 'annals_disk_budget_bytes'), 64 * 1024 * 1024);
      const { disk } = await client.stats();
      assert.deepEqual(disk, { usedBytes: onDisk, budgetBytes: 64 * 1024 * 1024 });
    } finally {
      await client.close();
    }
  });

  it('without a budget there is no budget gauge, so used / budget has no value', async () => {
    const store = await openEventStore({ path: join(dir, 'plain.db') });
    const { url, client } = await serveForTest(store);
    try {
      const text = await scrape(url);
      assert.ok(gaugeOf(text, 'annals_disk_used_bytes')! > 0);
      assert.equal(gaugeOf(text, 'annals_disk_budget_bytes'), undefined);
      assert.equal((await client.stats()).disk.budgetBytes, undefined);
    } finally {
      await client.close();
    }
  });

  it("PostgreSQL: the schema's relations, no budget", async (t) => {
    if (await postgresSkipReason()) return t.skip('PostgreSQL is unreachable');
    const store = await openTestPostgresStore();
    try {
      const before = (await store.diskUsage()).usedBytes;
      await store.append(
        'order-1',
        Array.from({ length: 500 }, () => ({ type: 'Placed', data: { text: 'x'.repeat(1000) } })),
      );
      const after = await store.diskUsage();
      assert.ok(before > 0 && after.usedBytes > before, `${before} then ${after.usedBytes}`);
      assert.equal(after.budgetBytes, undefined);
      assert.deepEqual((await store.stats()).disk, await store.diskUsage());
    } finally {
      await store.close();
    }
  });

  it('memory: 0 bytes, nothing is on disk', async () => {
    const { url, client } = await serveForTest(await openEventStore({ engine: 'memory' }));
    try {
      await client.append('order-1', [{ type: 'Placed', data: {} }]);
      assert.equal(gaugeOf(await scrape(url), 'annals_disk_used_bytes'), 0);
      assert.deepEqual((await client.stats()).disk, { usedBytes: 0 });
    } finally {
      await client.close();
    }
  });
});
