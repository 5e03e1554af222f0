/** `GET /backup` on the engines that answer NDJSON: the header line, then the whole log as `/all` gives it. */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openEventStore } from '../engines/open.js';
import { openTestPostgresStore, postgresSkipReason } from '../engines/postgres/testing/test-database.js';
import type { EventStore } from '../store/event-store.js';
import { recordedToJsonText } from '../protocol/wire.js';
import { sqliteMagic } from '../protocol/backup-file.js';
import { httpCall } from './testing/http.js';
import { serveForTest } from './testing/serve.js';

const backupOf = async (store: EventStore) => {
  const { url, client } = await serveForTest(store);
  try {
    await client.append('order-1', [{ type: 'Placed', data: { total: 30 } }]);
    await client.append('order-2', [{ type: 'Placed', data: {} }]);
    await client.deleteStream('order-2');
    const answer = await httpCall(url, 'GET', '/backup');
    const stats = await client.stats();
    const log: string[] = [];
    for await (const event of client.iterateAll({ filter: { includeSystem: true } })) log.push(recordedToJsonText(event));
    return { answer, stats, log };
  } finally {
    await client.close();
  }
};

describe('GET /backup as NDJSON', () => {
  for (const [engine, open] of [
    ['memory', () => openEventStore({ engine: 'memory' })],
    ['postgres', () => openTestPostgresStore()],
  ] as const)
    it(`${engine}: a header naming the store and its head, then every event, system events included`, async (t) => {
      if (engine === 'postgres' && (await postgresSkipReason())) return t.skip('PostgreSQL is unreachable');
      const { answer, stats, log } = await backupOf(await open());
      assert.equal(answer.status, 200);
      assert.match(String(answer.headers['content-type']), /^application\/x-ndjson/);
      assert.equal(answer.headers['annals-head-position'], '3');
      const [header, ...events] = answer.text.trimEnd().split('\n');
      assert.deepEqual(JSON.parse(header!), {
        annals: 'export',
        storeId: stats.storeId,
        epoch: 1,
        epochStart: '0',
        headPosition: String(stats.headPosition),
      });
      assert.deepEqual(events, log);
      assert.deepEqual(
        events.map((line) => JSON.parse(line).type),
        ['Placed', '$deleted'],
      );
    });
});

describe('store.backup() over HTTP', () => {
  it('reads an NDJSON backup as pages of events, as the embedded store gives them', async () => {
    const store = await openEventStore({ engine: 'memory' });
    const { client } = await serveForTest(store);
    try {
      await client.append('order-1', [{ type: 'Placed', data: { total: 30 } }]);
      await client.setMetadata('order-1', { maxCount: 5 });
      const [remote, embedded] = [await client.backup(), await store.backup()];
      const eventsOf = async (backup: typeof remote) => {
        const events = [];
        if (backup.format === 'events') for await (const page of backup.pages) events.push(...page);
        return events;
      };
      assert.deepEqual(
        [remote.format, remote.storeId, remote.epoch, remote.epochStart, remote.headPosition],
        [embedded.format, embedded.storeId, embedded.epoch, embedded.epochStart, embedded.headPosition],
      );
      assert.deepEqual(await eventsOf(remote), await eventsOf(embedded));
      await Promise.all([remote.close(), embedded.close()]);
    } finally {
      await client.close();
    }
  });

  it('writes a SQLite backup to a private file of its own, removed by close()', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'annals-client-backup-'));
    const store = await openEventStore({ path: join(dir, 'annals.db') });
    const { client } = await serveForTest(store);
    try {
      await client.append('order-1', [{ type: 'Placed', data: {} }]);
      const backup = await client.backup();
      assert.equal(backup.format, 'sqlite');
      if (backup.format !== 'sqlite') return;
      assert.equal(statSync(backup.file).size, backup.bytes);
      assert.equal(statSync(backup.file).mode & 0o777, 0o600);
      assert.ok(readFileSync(backup.file).subarray(0, 16).equals(sqliteMagic));
      assert.deepEqual([backup.storeId, backup.headPosition], [(await client.stats()).storeId, 1n]);
      await backup.close();
      assert.equal(existsSync(backup.file), false);
    } finally {
      await client.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
