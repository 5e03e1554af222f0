/**
 * The conformance suites through the client, against a server on each engine: the remote store must
 * behave exactly like the embedded one, consumer groups included.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe } from 'node:test';
import { describeGroupConformance } from '../bus/groups/conformance/suite.js';
import { describeCommandConformance } from '../command/conformance/suite.js';
import { describeSnapshotConformance } from '../command/snapshots/conformance/suite.js';
import { describeProjectionRegistryConformance } from '../projection/registry/conformance/suite.js';
import { describeConformance } from '../store/conformance/suite.js';
import type { EventStore } from '../store/event-store.js';
import { openEventStore } from '../engines/open.js';
import { openTestPostgresStore, postgresSkipReason } from '../engines/postgres/testing/test-database.js';
import { serveForTest } from '../server/testing/serve.js';

const dir = mkdtempSync(join(tmpdir(), 'annals-client-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let count = 0;

const throughClient = (openStore: () => Promise<EventStore>) => async () => (await serveForTest(await openStore())).client;

const openMemory = () => openEventStore({ engine: 'memory' });
const openSqlite = () => openEventStore({ engine: 'sqlite', path: join(dir, `store-${++count}.db`) });

describeConformance('client on memory', throughClient(openMemory));
describeConformance('client on sqlite', throughClient(openSqlite));
describeGroupConformance('client on memory', { open: throughClient(openMemory) });
/** A served SQLite file that can be served again after its server stops: what a restart of a group needs. */
const sqliteGroupsThroughClient = () => {
  const paths = new WeakMap<EventStore, string>();
  const openAt = async (path: string) => {
    const { client } = await serveForTest(await openEventStore({ engine: 'sqlite', path }));
    paths.set(client, path);
    return client;
  };
  return {
    open: () => openAt(join(dir, `store-${++count}.db`)),
    reopen: async (store: EventStore) => {
      await store.close();
      return openAt(paths.get(store)!);
    },
  };
};
describeGroupConformance('client on sqlite', sqliteGroupsThroughClient());
describeCommandConformance('client on memory', throughClient(openMemory));
describeCommandConformance('client on sqlite', throughClient(openSqlite));
describeSnapshotConformance('client on memory', throughClient(openMemory));
describeSnapshotConformance('client on sqlite', throughClient(openSqlite));
describeProjectionRegistryConformance('client on memory', throughClient(openMemory));
describeProjectionRegistryConformance('client on sqlite', throughClient(openSqlite));

const skip = await postgresSkipReason();
describe('client on postgres', { skip }, () => {
  describeConformance('client on postgres', throughClient(openTestPostgresStore));
  describeGroupConformance('client on postgres', { open: throughClient(openTestPostgresStore) });
  describeCommandConformance('client on postgres', throughClient(openTestPostgresStore));
  describeSnapshotConformance('client on postgres', throughClient(openTestPostgresStore));
  describeProjectionRegistryConformance('client on postgres', throughClient(openTestPostgresStore));
});
