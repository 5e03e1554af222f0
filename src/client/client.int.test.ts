/**
 * The conformance suite through the client, against a server on each engine: the remote store must
 * behave exactly like the embedded one.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe } from 'node:test';
import { describeConformance } from '../store/conformance/suite.js';
import type { EventStore } from '../store/event-store.js';
import { openEventStore } from '../engines/open.js';
import { openTestPostgresStore, postgresSkipReason } from '../engines/postgres/testing/test-database.js';
import { serveForTest } from '../server/testing/serve.js';

const dir = mkdtempSync(join(tmpdir(), 'annals-client-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let count = 0;

const throughClient = (openStore: () => Promise<EventStore>) => async () => (await serveForTest(await openStore())).client;

describeConformance(
  'client on memory',
  throughClient(() => openEventStore({ engine: 'memory' })),
);
describeConformance(
  'client on sqlite',
  throughClient(() => openEventStore({ engine: 'sqlite', path: join(dir, `store-${++count}.db`) })),
);

const skip = await postgresSkipReason();
describe('client on postgres', { skip }, () => {
  describeConformance('client on postgres', throughClient(openTestPostgresStore));
});
