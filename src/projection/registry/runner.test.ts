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
import { runProjections } from '../run-projections.js';
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

describe('runProjections and the registry', () => {
  it('runs a set of projections, each reporting; a failing one stops alone; pause, resume, cancel and drop carried out; the signal stops all', async () => {
    const store = await openEventStore({ engine: 'memory' });
    const model = createSqliteReadModel(':memory:');
    const signal = new AbortController();
    const set = runProjections(
      store,
      [
        customerTotals(),
        customerTotals({ name: 'poisoned-totals', table: 'poisoned', poison: 7 }),
        customerTotals({ name: 'slow-totals', table: 'slow' }),
      ],
      { readModel: model, signal: signal.signal, heartbeatSeconds: 0.05, replayRate: 200, batchSize: 100 },
    );
    assert.throws(
      () => runProjections(store, [customerTotals(), customerTotals()], { readModel: model }),
      /'customer-totals' is given twice/,
    );
    try {
      await placeOrders(store, 1000);
      await reported(store, 'customer-totals');
      await set.runners.get('poisoned-totals')!.done;
      assert.equal(set.runners.get('poisoned-totals')!.status().state, 'failed');
      for (let attempt = 0; (await store.projections.info('poisoned-totals')).state !== 'failed'; attempt++) {
        assert.ok(attempt < 200, 'the registry shows the failure');
        await sleep(25);
      }
      assert.match((await store.projections.info('poisoned-totals')).lastError!.message, /cannot take a total of 7/);
      assert.equal((await reported(store, 'customer-totals')).state, 'running');

      const pause = await store.projections.pause('customer-totals');
      assert.equal((await settled(store, 'customer-totals', pause.requestId)).state, 'done');
      assert.equal(set.runners.get('customer-totals')!.status().state, 'paused');
      const resume = await store.projections.resume('customer-totals');
      assert.equal((await settled(store, 'customer-totals', resume.requestId)).state, 'done');
      assert.notEqual(set.runners.get('customer-totals')!.status().state, 'paused');

      // A rebuild throttled to 200 events/s is still under way when the cancel comes.
      const rebuild = await store.projections.replay('slow-totals', { rebuild: true });
      for (let attempt = 0; set.runners.get('slow-totals')!.status().rebuild === undefined; attempt++) {
        assert.ok(attempt < 200, 'the rebuild starts');
        await sleep(10);
      }
      const cancel = await store.projections.cancel('slow-totals');
      assert.equal((await settled(store, 'slow-totals', cancel.requestId)).state, 'done');
      assert.equal((await settled(store, 'slow-totals', rebuild.requestId)).state, 'cancelled');
      assert.deepEqual((await model.builds('slow-totals')).length, 1, 'the cancelled build is dropped');

      const nothing = await store.projections.cancel('slow-totals');
      assert.match(
        (await settled(store, 'slow-totals', nothing.requestId)).error ?? '',
        /no replay or rebuild of slow-totals is under way/,
      );
      await assert.rejects(store.projections.drop('customer-totals', 1), /serves/);
    } finally {
      signal.abort();
      await set.done;
      assert.ok([...set.runners.values()].every((runner) => ['stopped', 'failed'].includes(runner.status().state)));
      await model.close();
      await store.close();
    }
  });
});
