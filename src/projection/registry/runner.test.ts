/**
 * A real runner (run.ts) against the registry, embedded and through the client: it registers, and carries
 * out the replays and rebuilds a tool writes to the registry, which shows them done.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { openEventStore } from '../../engines/open.js';
import { createSqliteReadModel } from '../../engines/sqlite/read-model.js';
import { serveForTest } from '../../server/testing/serve.js';
import type { EventStore } from '../../store/event-store.js';
import { runProjection } from '../run.js';
import { customerTotals, placeOrders } from '../testing/customer-totals.js';
import type { ProjectionRequest } from './model.js';

const settled = async (store: EventStore, name: string, requestId: string): Promise<ProjectionRequest> => {
  for (let attempt = 0; attempt < 200; attempt++) {
    const request = await store.projections.request(name, requestId);
    if (!['pending', 'running'].includes(request.state)) return request;
    await sleep(25);
  }
  assert.fail(`request ${requestId} of ${name} never settled`);
};

const reported = async (store: EventStore, name: string) => {
  for (let attempt = 0; attempt < 200; attempt++) {
    const found = (await store.projections.list()).find((info) => info.name === name);
    if (found !== undefined && found.position > 0n) return found;
    await sleep(25);
  }
  assert.fail(`${name} never reported`);
};

const cases: [string, () => Promise<{ store: EventStore; close: () => Promise<void> }>][] = [
  [
    'embedded',
    async () => {
      const store = await openEventStore({ engine: 'memory' });
      return { store, close: () => store.close() };
    },
  ],
  [
    'through the client',
    async () => {
      const { client } = await serveForTest(await openEventStore({ engine: 'memory' }));
      return { store: client, close: () => client.close() };
    },
  ],
];

describe('a runner and the registry', () => {
  for (const [title, open] of cases) {
    it(`${title}: reports, then carries out a replay and a rebuild`, async () => {
      const { store, close } = await open();
      const model = createSqliteReadModel(':memory:');
      const runner = runProjection(store, customerTotals(), model, { registry: store.projections, heartbeatSeconds: 0.05 });
      try {
        await placeOrders(store, 40);
        const info = await reported(store, 'customer-totals');
        assert.deepEqual([info.version, info.state], [1, 'running']);

        const replay = await store.projections.replay('customer-totals', { from: 1n, to: 10n });
        const replayed = await settled(store, 'customer-totals', replay.requestId);
        assert.equal(replayed.state, 'done', replayed.error ?? '');
        assert.equal(replayed.claimedBy, info.runnerId);

        const rebuild = await store.projections.replay('customer-totals', { rebuild: true });
        assert.equal((await settled(store, 'customer-totals', rebuild.requestId)).state, 'done');
        const after = await store.projections.info('customer-totals');
        assert.deepEqual(
          after.requests.map((request) => [request.requestId, request.state]),
          [
            [rebuild.requestId, 'done'],
            [replay.requestId, 'done'],
          ],
        );
      } finally {
        await runner.close();
        await model.close();
        await close();
      }
    });
  }
});
