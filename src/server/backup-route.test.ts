/** `GET /backup` on the engines that answer NDJSON: the header line, then the whole log as `/all` gives it. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { openEventStore } from '../engines/open.js';
import { openTestPostgresStore, postgresSkipReason } from '../engines/postgres/testing/test-database.js';
import type { EventStore } from '../store/event-store.js';
import { recordedToJsonText } from '../protocol/wire.js';
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
