/**
 * The projection registry's contract (DESIGN.md section 9), run on every engine and through the client on
 * each: reports merged by name (the freshest speaks), `stale` after three heartbeats, requests from
 * `pending` through a claim to settled, one open replay per projection, claims that never hand one request
 * to two runners, settles only by the claimer, and arguments refused by name.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { rejectsWith, storeTest } from '../../../store/conformance/harness.js';
import type { EngineCore } from '../../../store/engine.js';
import type { EventStore } from '../../../store/event-store.js';
import type { RunnerReport } from '../model.js';

export const runnerReport = (overrides: Partial<RunnerReport> = {}): RunnerReport => ({
  name: 'orders',
  runnerId: 'runner-a',
  version: 2,
  activeVersion: 1,
  state: 'running',
  rebuild: null,
  position: 42n,
  lag: 3,
  rate: 12.5,
  progress: { done: 10, total: 20, etaSeconds: 1.5 },
  lastError: null,
  host: 'host-a',
  heartbeatSeconds: 60,
  ...overrides,
});

export const describeProjectionRegistryConformance = (name: string, open: () => Promise<EventStore>): void => {
  const test = storeTest(open);

  describe(`projection registry conformance: ${name}`, () => {
    test('a report shows in list and info, with when', async (store) => {
      assert.deepEqual(await store.projections.list(), []);
      const before = Date.now();
      await store.projections.report(runnerReport());
      const [listed] = await store.projections.list();
      const info = await store.projections.info('orders');
      assert.deepEqual(listed, info);
      const { heartbeatAt, ...rest } = info;
      assert.deepEqual(rest, {
        name: 'orders',
        runnerId: 'runner-a',
        version: 2,
        activeVersion: 1,
        state: 'running',
        rebuild: null,
        position: 42n,
        lag: 3,
        rate: 12.5,
        progress: { done: 10, total: 20, etaSeconds: 1.5 },
        lastError: null,
        host: 'host-a',
        requests: [],
      });
      assert.ok(heartbeatAt instanceof Date && Math.abs(heartbeatAt.getTime() - before) < 5_000);
    });

    test('the freshest report of a name wins; list is in name order', async (store) => {
      await store.projections.report(runnerReport({ runnerId: 'runner-a', host: 'host-a' }));
      await sleep(5);
      await store.projections.report(runnerReport({ runnerId: 'runner-b', host: 'host-b', state: 'paused' }));
      await store.projections.report(runnerReport({ name: 'customers', runnerId: 'runner-c' }));
      assert.deepEqual(
        (await store.projections.list()).map(({ name, runnerId, state }) => [name, runnerId, state]),
        [
          ['customers', 'runner-c', 'running'],
          ['orders', 'runner-b', 'paused'],
        ],
      );
      await sleep(5);
      await store.projections.report(runnerReport({ runnerId: 'runner-a', host: 'host-a', lag: 0 }));
      const info = await store.projections.info('orders');
      assert.deepEqual([info.runnerId, info.host, info.lag], ['runner-a', 'host-a', 0]);
    });

    test('a runner silent for three heartbeats is stale', async (store) => {
      await store.projections.report(runnerReport({ heartbeatSeconds: 0.05 }));
      assert.equal((await store.projections.info('orders')).state, 'running');
      await sleep(300);
      assert.equal((await store.projections.info('orders')).state, 'stale');
      assert.equal((await store.projections.list())[0]!.state, 'stale');
      await store.projections.report(runnerReport({ heartbeatSeconds: 0.05 }));
      assert.equal((await store.projections.info('orders')).state, 'running');
    });

    test('a request goes pending, then running by its claimer with progress, then done', async (store) => {
      await store.projections.report(runnerReport());
      const { requestId } = await store.projections.replay('orders', { from: 5n, to: 2n ** 62n, category: 'order' });
      assert.match(requestId, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      const pending = await store.projections.request('orders', requestId);
      assert.deepEqual(
        { ...pending, createdAt: undefined, updatedAt: undefined },
        {
          requestId,
          name: 'orders',
          kind: 'replay',
          options: { from: 5n, to: 2n ** 62n, category: 'order' },
          state: 'pending',
          createdAt: undefined,
          updatedAt: undefined,
          claimedBy: null,
          error: null,
          progress: null,
        },
      );
      assert.ok(pending.createdAt instanceof Date && pending.updatedAt instanceof Date);
      assert.deepEqual(
        (await store.projections.info('orders')).requests.map((request) => [request.requestId, request.state]),
        [[requestId, 'pending']],
      );

      const claimed = await store.projections.claim('orders', 'runner-a');
      assert.equal(claimed?.requestId, requestId);
      assert.deepEqual([claimed.state, claimed.claimedBy], ['running', 'runner-a']);
      assert.equal(await store.projections.claim('orders', 'runner-a'), undefined);

      const progress = { done: 5, total: 10, etaSeconds: 2 };
      await store.projections.settle('orders', requestId, { state: 'running', progress, runnerId: 'runner-a' });
      const running = await store.projections.request('orders', requestId);
      assert.deepEqual([running.state, running.progress], ['running', progress]);
      assert.deepEqual((await store.projections.info('orders')).requests[0]?.progress, progress);

      await store.projections.settle('orders', requestId, { state: 'done', runnerId: 'runner-a' });
      const done = await store.projections.request('orders', requestId);
      assert.deepEqual([done.state, done.progress, done.error], ['done', progress, null]);
      await rejectsWith(store.projections.settle('orders', requestId, { state: 'running', runnerId: 'runner-a' }), 'conflict');
    });

    test('info shows open requests, then the last ten settled, newest first', async (store) => {
      await store.projections.report(runnerReport());
      const settledIds: string[] = [];
      for (let index = 0; index < 12; index++) {
        const { requestId } = await store.projections.pause('orders');
        await store.projections.claim('orders', 'runner-a');
        await store.projections.settle('orders', requestId, {
          state: index % 2 === 0 ? 'done' : 'failed',
          error: 'no',
          runnerId: 'runner-a',
        });
        settledIds.push(requestId);
        await sleep(2);
      }
      const { requestId: open } = await store.projections.resume('orders');
      const shown = (await store.projections.info('orders')).requests;
      assert.deepEqual(
        shown.map((request) => request.requestId),
        [open, ...settledIds.slice(2).reverse()],
      );
      assert.deepEqual([shown[1]!.state, shown[1]!.error], ['failed', 'no']);
    });

    test('a second replay while one is open is a conflict; once settled, a replay is taken again', async (store) => {
      await store.projections.report(runnerReport());
      const { requestId } = await store.projections.replay('orders', { rebuild: true });
      const second = await rejectsWith(store.projections.replay('orders', { stream: 'order-1' }), 'conflict');
      assert.equal(second.message, `a replay of orders is pending: ${requestId}`);
      await store.projections.pause('orders');
      await store.projections.claim('orders', 'runner-a');
      assert.match((await rejectsWith(store.projections.replay('orders'), 'conflict')).message, /is running: /);
      await store.projections.settle('orders', requestId, { state: 'cancelled', runnerId: 'runner-a' });
      const again = await store.projections.replay('orders');
      assert.notEqual(again.requestId, requestId);
      assert.deepEqual((await store.projections.request('orders', again.requestId)).options, {});
    });

    test('a replay of one projection leaves another free', async (store) => {
      await store.projections.report(runnerReport());
      await store.projections.report(runnerReport({ name: 'customers' }));
      await store.projections.replay('orders');
      await store.projections.replay('customers');
      const claimed = await store.projections.claim('customers', 'runner-a');
      assert.equal(claimed?.name, 'customers');
    });

    test('dropping the serving version is a conflict; another version is asked for', async (store) => {
      await store.projections.report(runnerReport({ runnerId: 'old', activeVersion: 1 }));
      await sleep(5);
      await store.projections.report(runnerReport({ runnerId: 'new', activeVersion: 2 }));
      assert.match((await rejectsWith(store.projections.drop('orders', 2), 'conflict')).message, /version 2 of orders serves/);
      const { requestId } = await store.projections.drop('orders', 1);
      const request = await store.projections.request('orders', requestId);
      assert.deepEqual([request.kind, request.options], ['drop', { version: 1 }]);
    });

    test('a projection never reported, or a request it never had, is not_found', async (store) => {
      await rejectsWith(store.projections.info('nobody'), 'not_found');
      await rejectsWith(store.projections.replay('nobody'), 'not_found');
      await rejectsWith(store.projections.pause('nobody'), 'not_found');
      await rejectsWith(store.projections.resume('nobody'), 'not_found');
      await rejectsWith(store.projections.cancel('nobody'), 'not_found');
      await rejectsWith(store.projections.drop('nobody', 1), 'not_found');
      await store.projections.report(runnerReport());
      const unknown = '00000000-0000-4000-8000-000000000000';
      await rejectsWith(store.projections.request('orders', unknown), 'not_found');
      await rejectsWith(store.projections.settle('orders', unknown, { state: 'done' }), 'not_found');
      const { requestId } = await store.projections.cancel('orders');
      await rejectsWith(store.projections.request('customers', requestId), 'not_found');
      assert.equal(await store.projections.claim('customers', 'runner-a'), undefined);
    });

    test('two runners claiming at once: each request goes to one of them', async (store) => {
      await store.projections.report(runnerReport());
      const asked = [await store.projections.pause('orders'), await store.projections.resume('orders')].map((answer) => answer.requestId);
      const claims = await Promise.all(
        Array.from({ length: 6 }, (_, index) => store.projections.claim('orders', index % 2 === 0 ? 'runner-a' : 'runner-b')),
      );
      const claimed = claims.filter((request) => request !== undefined);
      assert.deepEqual(claimed.map((request) => request.requestId).sort(), [...asked].sort());
      for (const request of claimed) {
        assert.equal((await store.projections.request('orders', request.requestId)).claimedBy, request.claimedBy);
      }
    });

    test('the oldest pending request is claimed first', async (store) => {
      await store.projections.report(runnerReport());
      const first = await store.projections.pause('orders');
      await store.projections.resume('orders');
      assert.equal((await store.projections.claim('orders', 'runner-a'))?.requestId, first.requestId);
    });

    test('a settle by a runner that did not claim, or of a pending request, is a conflict', async (store) => {
      await store.projections.report(runnerReport());
      const { requestId } = await store.projections.replay('orders');
      assert.match(
        (await rejectsWith(store.projections.settle('orders', requestId, { state: 'done', runnerId: 'runner-a' }), 'conflict')).message,
        /pending/,
      );
      await store.projections.claim('orders', 'runner-a');
      const refused = await rejectsWith(store.projections.settle('orders', requestId, { state: 'done', runnerId: 'runner-b' }), 'conflict');
      assert.match(refused.message, /claimed by 'runner-a', not 'runner-b'/);
      assert.equal((await store.projections.request('orders', requestId)).state, 'running');
      await store.projections.settle('orders', requestId, { state: 'failed', error: 'the handler threw', runnerId: 'runner-a' });
      assert.deepEqual(
        [(await store.projections.request('orders', requestId)).state, (await store.projections.request('orders', requestId)).error],
        ['failed', 'the handler threw'],
      );
    });

    test('positions round-trip as bigints, beyond what a number holds', async (store) => {
      const far = 2n ** 63n - 1n;
      await store.projections.report(
        runnerReport({ position: far, lastError: { message: 'boom', eventId: 'e-1', eventType: 'Placed', position: far - 1n } }),
      );
      const info = await store.projections.info('orders');
      assert.equal(info.position, far);
      assert.deepEqual(info.lastError, { message: 'boom', eventId: 'e-1', eventType: 'Placed', position: far - 1n });
      const { requestId } = await store.projections.replay('orders', { from: far - 10n, to: far });
      assert.deepEqual((await store.projections.request('orders', requestId)).options, { from: far - 10n, to: far });
    });

    test('bad arguments are invalid_argument, naming the field', async (store) => {
      await store.projections.report(runnerReport());
      const refused = async (call: Promise<unknown>, field: RegExp) =>
        assert.match((await rejectsWith(call, 'invalid_argument')).message, field);
      await refused(store.projections.info('9lives'), /^name is '9lives'; allowed: /);
      await refused(store.projections.info('$system'), /^name is/);
      await refused(store.projections.replay('orders', { from: -1n }), /^from is -1/);
      await refused(store.projections.replay('orders', { from: 9n, to: 3n }), /^from is 9; allowed: .*to \(3\)/);
      await refused(store.projections.replay('orders', { fromTime: 'yesterday' }), /^fromTime is 'yesterday'; allowed: an RFC 3339/);
      await refused(
        store.projections.replay('orders', { fromTime: '2026-02-01T00:00:00Z', toTime: '2026-01-01T00:00:00Z' }),
        /^fromTime is/,
      );
      await refused(store.projections.replay('orders', { stream: 'order-1', category: 'order' }), /^category is/);
      await refused(store.projections.replay('orders', { rebuild: true, from: 1n }), /^from is given with rebuild/);
      await refused(store.projections.replay('orders', { colour: 'red' } as never), /unknown option 'colour'/);
      await refused(store.projections.drop('orders', 0), /^version is 0; allowed: an integer from 1/);
      await refused(store.projections.request('orders', 'not-a-uuid'), /^requestId is 'not-a-uuid'/);
      await refused(store.projections.report(runnerReport({ heartbeatSeconds: 0 })), /^report\.heartbeatSeconds is 0/);
      await refused(store.projections.report(runnerReport({ position: -5n })), /^report\.position is -5/);
      await refused(store.projections.report(runnerReport({ state: 'dancing' as never })), /^report\.state is 'dancing'/);
      await refused(store.projections.claim('orders', ''), /runnerId must not be empty/);
      const { requestId } = await store.projections.pause('orders');
      await store.projections.claim('orders', 'runner-a');
      await refused(store.projections.settle('orders', requestId, { state: 'pending' as never }), /^outcome\.state is 'pending'/);
      await refused(
        store.projections.settle('orders', requestId, { state: 'running', progress: { done: -1, total: 1, etaSeconds: null } }),
        /^outcome\.progress\.done is -1/,
      );
      assert.equal((await store.projections.request('orders', requestId)).state, 'running');
    });
  });
};

/**
 * What no caller of `store.projections` can see, so it is checked on the engine: reports of runners gone
 * stale are forgotten when another runner of the name reports (runners that restart under new ids would
 * pile up otherwise), and only those.
 */
export const describeReportForgetting = (name: string, open: () => Promise<{ engine: EngineCore; close: () => Promise<void> }>): void => {
  describe(`projection registry engine: ${name}`, () => {
    it('forgets the stale reports of a name when another runner reports', async () => {
      const { engine, close } = await open();
      try {
        const { projections } = engine;
        await projections.report(runnerReport({ runnerId: 'restarted', heartbeatSeconds: 0.02 }));
        await projections.report(runnerReport({ runnerId: 'alive', heartbeatSeconds: 60 }));
        await projections.report(runnerReport({ name: 'customers', runnerId: 'silent', heartbeatSeconds: 0.02 }));
        await sleep(150);
        await projections.report(runnerReport({ runnerId: 'new', heartbeatSeconds: 60 }));
        const runners = async (projection: string) =>
          (await projections.reports(projection)).reports.map((stored) => stored.report.runnerId).sort();
        assert.deepEqual(await runners('orders'), ['alive', 'new']);
        assert.deepEqual(await runners('customers'), ['silent']);
        await projections.report(runnerReport({ name: 'customers', runnerId: 'silent', heartbeatSeconds: 0.02 }));
        assert.deepEqual(await runners('customers'), ['silent']);
      } finally {
        await close();
      }
    });
  });
};
