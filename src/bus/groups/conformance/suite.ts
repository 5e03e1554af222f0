/**
 * The consumer group contract (DESIGN.md section 7), run on every engine and through the client on each.
 * Timings are short (leases of a few hundred milliseconds, retries without delay) so that the suite is
 * fast; every wait is for a condition, never for a fixed time that a slow machine could miss.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { events, rejectsWith } from '../../../store/conformance/harness.js';
import type { EventStore } from '../../../store/event-store.js';
import { ParkError, SkipError } from '../consume.js';
import type { Delivery, GroupSettingsInput } from '../model.js';

export interface GroupConformanceOptions {
  /** Opens a fresh, empty store; the suite closes it after each case. */
  open: () => Promise<EventStore>;
  /** Closes `store` and opens the same one again: given for engines whose state survives a restart. */
  reopen?: (store: EventStore) => Promise<EventStore>;
}

const quick: GroupSettingsInput = { ackTimeoutMs: 300, retryDelayMs: 0 };

/** Pulls until `count` deliveries came (each pull waits a little), or fails after `ms`. */
export const pullAll = async (store: EventStore, group: string, count: number, consumer = 'c1', ms = 5_000): Promise<Delivery[]> => {
  const got: Delivery[] = [];
  const deadline = Date.now() + ms;
  while (got.length < count) {
    assert.ok(Date.now() < deadline, `expected ${count} deliveries of '${group}' within ${ms} ms, got ${got.length}`);
    got.push(...(await store.groups.pull(group, { consumer, max: count - got.length, waitMs: 200 })));
  }
  return got;
};

const positionsOf = (deliveries: Delivery[]) => deliveries.map((delivery) => delivery.event.position);
const idsOf = (deliveries: Delivery[]) => deliveries.map((delivery) => delivery.id);

const eventually = async (check: () => Promise<boolean>, what: string, ms = 5_000) => {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    assert.ok(Date.now() < deadline, `timed out waiting until ${what}`);
    await sleep(20);
  }
};

export const describeGroupConformance = (name: string, { open, reopen }: GroupConformanceOptions): void => {
  const test = (title: string, body: (store: EventStore) => Promise<EventStore | void>) =>
    void it(title, async () => {
      let store = await open();
      try {
        store = (await body(store)) ?? store;
      } finally {
        await store.close();
      }
    });

  describe(`consumer group conformance: ${name}`, () => {
    describe('settings', () => {
      test('creates a group with defaults, and creating it again with the same settings changes nothing', async (store) => {
        const first = await store.groups.create('billing', { source: { category: 'order' } });
        assert.equal(first.created, true);
        assert.deepEqual(first.settings, {
          source: { category: 'order' },
          from: 0n,
          strategy: 'round_robin',
          ackTimeoutMs: 30_000,
          maxRetries: 10,
          retryDelayMs: 1_000,
          maxInFlight: 1_000,
          maxPending: 10_000,
          consumerTimeoutMs: 60_000,
          paused: false,
        });
        assert.deepEqual(await store.groups.create('billing', { source: { category: 'order' } }), {
          created: false,
          settings: first.settings,
        });
        const error = await rejectsWith(store.groups.create('billing', { source: { category: 'order' }, maxRetries: 3 }), 'conflict');
        assert.match(error.message, /maxRetries/);
      });

      test("resolves from: 'end' to the head at creation, and delivers only what follows", async (store) => {
        await store.append('order-1', events(3));
        const { settings } = await store.groups.create('g', { from: 'end', ...quick });
        assert.equal(settings.from, (await store.stats()).headPosition);
        assert.equal((await store.groups.create('g', { from: 'end', ...quick })).created, false);
        const { position } = await store.append('order-2', events(1));
        assert.deepEqual(positionsOf(await pullAll(store, 'g', 1)), [position]);
      });

      test('updates settings that may change, refuses to change source, from and scope', async (store) => {
        await store.groups.create('g', { source: { stream: 'a-1' } });
        const updated = await store.groups.update('g', { maxRetries: 2, strategy: 'pinned', paused: true });
        assert.equal(updated.maxRetries, 2);
        assert.equal(updated.strategy, 'pinned');
        assert.equal((await store.groups.info('g')).settings.paused, true);
        await rejectsWith(store.groups.update('g', { source: { stream: 'a-2' } }), 'conflict');
        await rejectsWith(store.groups.update('g', { from: 5 }), 'conflict');
        await rejectsWith(store.groups.update('g', { scope: ['a-'] }), 'conflict');
        assert.equal((await store.groups.update('g', { source: { stream: 'a-1' } })).maxRetries, 2);
      });

      test('lists groups in name order and deletes them', async (store) => {
        await store.groups.create('b');
        await store.groups.create('a');
        assert.deepEqual(
          (await store.groups.list()).map((group) => group.name),
          ['a', 'b'],
        );
        await store.groups.delete('a');
        assert.deepEqual(
          (await store.groups.list()).map((group) => group.name),
          ['b'],
        );
        await rejectsWith(store.groups.info('a'), 'not_found');
        await rejectsWith(store.groups.delete('a'), 'not_found');
      });

      test('refuses bad settings and arguments with errors that name the field', async (store) => {
        const cases: [Promise<unknown>, RegExp][] = [
          [store.groups.create('', {}), /group name/],
          [store.groups.create('g', { strategy: 'random' as never }), /strategy/],
          [store.groups.create('g', { ackTimeoutMs: 0 }), /ackTimeoutMs/],
          [store.groups.create('g', { source: { stream: 'a', category: 'b' } as never }), /source/],
          [store.groups.create('g', { source: { category: 'a-b' } }), /source\.category/],
          [store.groups.create('g', { from: -1 }), /from/],
          [store.groups.create('g', { colour: 'red' } as never), /colour/],
          [store.groups.pull('g', { consumer: '' }), /consumer/],
          [store.groups.pull('g', { consumer: 'c', max: 0 }), /max/],
          [store.groups.pull('g', { consumer: 'c', waitMs: 60_000 }), /waitMs/],
          [store.groups.ack('g', []), /ids/],
          [store.groups.ack('g', ['nonsense']), /ids\[0\]/],
          [store.groups.nack('g', ['1.1.1'], { action: 'drop' as never }), /action/],
          [store.groups.replay('g', { from: 5, to: 2 }), /to/],
        ];
        for (const [call, field] of cases) {
          const error = await rejectsWith(call, 'invalid_argument');
          assert.match(error.message, field);
        }
        assert.deepEqual(await store.groups.list(), []);
      });

      test('calls on a group that does not exist are not_found', async (store) => {
        await rejectsWith(store.groups.pull('nope', { consumer: 'c' }), 'not_found');
        await rejectsWith(store.groups.ack('nope', ['1.1.1']), 'not_found');
        await rejectsWith(store.groups.update('nope', { paused: true }), 'not_found');
        await rejectsWith(store.groups.parked('nope'), 'not_found');
        await rejectsWith(store.groups.replay('nope', { from: 1 }), 'not_found');
      });
    });

    describe('delivery', () => {
      test('delivers the events of its source in order, each once until settled', async (store) => {
        await store.groups.create('orders', { source: { category: 'order' }, ...quick });
        await store.append('order-1', events(2));
        await store.append('user-1', events(1));
        await store.append('order-2', events(1));
        const orders = (await store.readAll()).filter((event) => event.stream.startsWith('order-'));
        const got = await pullAll(store, 'orders', 3);
        assert.deepEqual(positionsOf(got), positionsOf(orders.map((event) => ({ event }) as Delivery)));
        assert.deepEqual(
          got.map(({ attempt, replay }) => ({ attempt, replay })),
          Array(3).fill({ attempt: 1, replay: false }),
        );
        assert.deepEqual(got[0]!.event, orders[0]);
        assert.deepEqual(await store.groups.pull('orders', { consumer: 'c2', max: 10 }), []);
        const result = await store.groups.ack('orders', idsOf(got));
        assert.deepEqual(result, { settled: idsOf(got), alreadySettled: [], stale: [] });
        const info = await store.groups.info('orders');
        assert.equal(info.checkpoint, (await store.stats()).headPosition);
        assert.equal(info.pending, 0);
        assert.deepEqual(info.lag, { events: 0, estimated: false, seconds: 0 });
      });

      test('reads one stream, a filter, or the whole log', async (store) => {
        await store.groups.create('one', { source: { stream: 'a-1' } });
        await store.groups.create('typed', { source: { filter: { types: ['Paid'] } } });
        await store.groups.create('all', {});
        await store.append('a-1', events(1, 'Placed'));
        await store.append('a-10', events(1, 'Paid'));
        await store.append('b-1', events(1, 'Paid'));
        const streams = async (group: string, count: number) =>
          (await pullAll(store, group, count)).map((delivery) => delivery.event.stream);
        assert.deepEqual(await streams('one', 1), ['a-1']);
        assert.deepEqual(await streams('typed', 2), ['a-10', 'b-1']);
        assert.deepEqual(await streams('all', 3), ['a-1', 'a-10', 'b-1']);
        assert.deepEqual(await store.groups.pull('one', { consumer: 'c1', waitMs: 100 }), []);
      });

      test('confines a group to its scope of stream prefixes', async (store) => {
        await store.groups.create('scoped', { scope: ['shop-'] });
        await store.append('shop-1', events(1));
        await store.append('bank-1', events(1));
        await store.append('shop-2', events(1));
        const got = await pullAll(store, 'scoped', 2);
        assert.deepEqual(
          got.map((delivery) => delivery.event.stream),
          ['shop-1', 'shop-2'],
        );
      });

      test('a long poll answers as soon as an event arrives', async (store) => {
        await store.groups.create('g', quick);
        const pulled = store.groups.pull('g', { consumer: 'c1', waitMs: 10_000 });
        await sleep(50);
        const started = Date.now();
        await store.append('a-1', events(1));
        assert.equal((await pulled).length, 1);
        assert.ok(Date.now() - started < 5_000);
      });

      test('a pull whose signal aborts answers with nothing', async (store) => {
        await store.groups.create('g', quick);
        const controller = new AbortController();
        const pulled = store.groups.pull('g', { consumer: 'c1', waitMs: 10_000, signal: controller.signal });
        await sleep(50);
        controller.abort();
        assert.deepEqual(await pulled, []);
      });

      test('round_robin shares events between consumers without duplicates', async (store) => {
        await store.groups.create('g', quick);
        for (let index = 0; index < 10; index++) await store.append(`s-${index}`, events(1));
        const first = await store.groups.pull('g', { consumer: 'c1', max: 4 });
        const second = await store.groups.pull('g', { consumer: 'c2', max: 10 });
        assert.equal(first.length, 4);
        assert.equal(second.length, 6);
        const all = [...positionsOf(first), ...positionsOf(second)];
        assert.equal(new Set(all).size, 10);
        const info = await store.groups.info('g');
        assert.deepEqual(
          info.consumers.map(({ name, inFlight }) => ({ name, inFlight })),
          [
            { name: 'c1', inFlight: 4 },
            { name: 'c2', inFlight: 6 },
          ],
        );
        assert.equal(info.inFlight, 10);
      });

      test('pinned: one unsettled delivery per stream, streams in parallel, order kept', async (store) => {
        await store.groups.create('g', { strategy: 'pinned', ...quick });
        await store.append('a-1', events(3));
        await store.append('b-1', events(2));
        const first = await store.groups.pull('g', { consumer: 'c1', max: 10 });
        assert.deepEqual(
          first.map((delivery) => [delivery.event.stream, delivery.event.revision]),
          [
            ['a-1', 0],
            ['b-1', 0],
          ],
        );
        assert.deepEqual(await store.groups.pull('g', { consumer: 'c2', max: 10 }), []);
        await store.groups.ack('g', [first[0]!.id]);
        const next = await store.groups.pull('g', { consumer: 'c2', max: 10 });
        assert.deepEqual(
          next.map((delivery) => [delivery.event.stream, delivery.event.revision]),
          [['a-1', 1]],
        );
        await store.groups.nack('g', [first[1]!.id], { action: 'retry' });
        const again = await store.groups.pull('g', { consumer: 'c1', max: 10 });
        assert.deepEqual(
          again.map((delivery) => [delivery.event.stream, delivery.event.revision, delivery.attempt]),
          [['b-1', 0, 2]],
        );
      });

      test('a consumer holds at most maxInFlight leases', async (store) => {
        await store.groups.create('g', { maxInFlight: 2, ...quick });
        await store.append('a-1', events(5));
        assert.equal((await store.groups.pull('g', { consumer: 'c1', max: 10 })).length, 2);
        assert.equal((await store.groups.pull('g', { consumer: 'c1', max: 10 })).length, 0);
        assert.equal((await store.groups.pull('g', { consumer: 'c2', max: 10 })).length, 2);
      });

      test('reads ahead at most maxPending unsettled events', async (store) => {
        await store.groups.create('g', { maxPending: 3, ...quick });
        await store.append('a-1', events(10));
        const got = await store.groups.pull('g', { consumer: 'c1', max: 10 });
        assert.equal(got.length, 3);
        const info = await store.groups.info('g');
        assert.equal(info.pending, 3);
        assert.deepEqual(info.lag, { ...info.lag, events: 10, estimated: false });
        assert.equal(info.state, 'catching_up');
        await store.groups.ack('g', idsOf(got));
        assert.equal((await pullAll(store, 'g', 3)).length, 3);
      });

      test('a paused group answers pulls with nothing and still accepts settles', async (store) => {
        await store.groups.create('g', quick);
        await store.append('a-1', events(2));
        const [first] = await store.groups.pull('g', { consumer: 'c1', max: 1 });
        await store.groups.update('g', { paused: true });
        assert.deepEqual(await store.groups.pull('g', { consumer: 'c1', max: 10, waitMs: 100 }), []);
        assert.deepEqual((await store.groups.ack('g', [first!.id])).settled, [first!.id]);
        assert.equal((await store.groups.info('g')).state, 'paused');
        await store.groups.update('g', { paused: false });
        assert.equal((await pullAll(store, 'g', 1)).length, 1);
      });

      test('a group deleted while a consumer waits ends the wait with not_found', async (store) => {
        await store.groups.create('g', quick);
        const pulled = store.groups.pull('g', { consumer: 'c1', waitMs: 10_000 });
        await sleep(50);
        await store.groups.delete('g');
        await rejectsWith(pulled, 'not_found');
      });
    });

    describe('settling', () => {
      test('the first settle wins; later ones are alreadySettled', async (store) => {
        await store.groups.create('g', quick);
        await store.append('a-1', events(2));
        const got = await store.groups.pull('g', { consumer: 'c1', max: 2 });
        assert.deepEqual(await store.groups.ack('g', [got[0]!.id, got[0]!.id]), {
          settled: [got[0]!.id],
          alreadySettled: [got[0]!.id],
          stale: [],
        });
        assert.deepEqual(await store.groups.nack('g', [got[0]!.id, got[1]!.id], { action: 'skip' }), {
          settled: [got[1]!.id],
          alreadySettled: [got[0]!.id],
          stale: [],
        });
      });

      test('ids of another group, or malformed ones, change nothing in the batch', async (store) => {
        await store.groups.create('g', quick);
        await store.groups.create('h', quick);
        await store.append('a-1', events(1));
        const [mine] = await store.groups.pull('g', { consumer: 'c1' });
        const [theirs] = await store.groups.pull('h', { consumer: 'c1' });
        const error = await rejectsWith(store.groups.ack('g', [mine!.id, theirs!.id]), 'invalid_argument');
        assert.match(error.message, /ids\[1\]/);
        assert.equal((await store.groups.info('g')).inFlight, 1);
        await rejectsWith(store.groups.ack('g', [mine!.id, 'x']), 'invalid_argument');
        assert.deepEqual((await store.groups.ack('g', [mine!.id])).settled, [mine!.id]);
      });

      test('a retry-nack delivers again at the next attempt; one of an old attempt is stale', async (store) => {
        await store.groups.create('g', quick);
        await store.append('a-1', events(1));
        const [first] = await store.groups.pull('g', { consumer: 'c1' });
        assert.deepEqual((await store.groups.nack('g', [first!.id], { action: 'retry' })).settled, [first!.id]);
        const [second] = await pullAll(store, 'g', 1);
        assert.equal(second!.attempt, 2);
        assert.notEqual(second!.id, first!.id);
        assert.deepEqual((await store.groups.nack('g', [first!.id], { action: 'retry' })).stale, [first!.id]);
        // An ack of an earlier attempt still settles an unsettled event.
        assert.deepEqual((await store.groups.ack('g', [first!.id])).settled, [first!.id]);
        assert.deepEqual((await store.groups.ack('g', [second!.id])).alreadySettled, [second!.id]);
      });

      test('retries wait retryDelayMs and go before new events', async (store) => {
        await store.groups.create('g', { ackTimeoutMs: 10_000, retryDelayMs: 1_000 });
        await store.append('a-1', events(1));
        const [first] = await store.groups.pull('g', { consumer: 'c1' });
        const nacked = Date.now();
        await store.groups.nack('g', [first!.id], { action: 'retry' });
        await store.append('a-2', events(1));
        const [next] = await store.groups.pull('g', { consumer: 'c1', max: 1 });
        assert.equal(next!.event.stream, 'a-2', 'the retry is not due yet');
        const [retried] = await pullAll(store, 'g', 1);
        assert.equal(retried!.attempt, 2);
        assert.ok(Date.now() - nacked >= 950, 'the retry waited for its delay');
      });

      test('an unacked lease is delivered again after ackTimeoutMs', async (store) => {
        await store.groups.create('g', { ackTimeoutMs: 200, retryDelayMs: 0 });
        await store.append('a-1', events(1));
        const [first] = await store.groups.pull('g', { consumer: 'c1' });
        const [again] = await pullAll(store, 'g', 1, 'c2');
        assert.equal(again!.attempt, 2);
        assert.equal(again!.event.position, first!.event.position);
      });

      test('extend keeps a long handler its lease', async (store) => {
        await store.groups.create('g', { ackTimeoutMs: 1_000, retryDelayMs: 0 });
        await store.append('a-1', events(1));
        const [first] = await store.groups.pull('g', { consumer: 'c1' });
        assert.deepEqual((await store.groups.extend('g', [first!.id], 5_000)).settled, [first!.id]);
        assert.deepEqual(await store.groups.pull('g', { consumer: 'c2', waitMs: 1_500 }), []);
        assert.deepEqual((await store.groups.ack('g', [first!.id])).settled, [first!.id]);
        assert.deepEqual((await store.groups.extend('g', [first!.id], 5_000)).alreadySettled, [first!.id]);
      });

      test('an event whose next attempt would exceed maxRetries + 1 is parked', async (store) => {
        await store.groups.create('g', { maxRetries: 1, ...quick });
        await store.append('a-1', events(1));
        const [first] = await store.groups.pull('g', { consumer: 'c1' });
        await store.groups.nack('g', [first!.id], { action: 'retry', reason: 'boom' });
        const [second] = await pullAll(store, 'g', 1);
        assert.equal(second!.attempt, 2);
        assert.deepEqual((await store.groups.nack('g', [second!.id], { action: 'retry', reason: 'boom again' })).settled, [second!.id]);
        const { parked } = await store.groups.parked('g');
        assert.equal(parked.length, 1);
        assert.equal(parked[0]!.reason, 'boom again');
        assert.equal(parked[0]!.attempts, 2);
        assert.deepEqual(parked[0]!.event, first!.event);
        assert.ok(parked[0]!.parkedAt instanceof Date);
        const info = await store.groups.info('g');
        assert.equal(info.parked, 1);
        assert.equal(info.checkpoint, first!.event.position, 'a parked event counts as settled');
      });

      test('maxRetries 0 parks at the first ack timeout', async (store) => {
        await store.groups.create('g', { maxRetries: 0, ackTimeoutMs: 100, retryDelayMs: 0 });
        await store.append('a-1', events(1));
        await store.groups.pull('g', { consumer: 'c1' });
        await sleep(150);
        assert.deepEqual(await store.groups.pull('g', { consumer: 'c1', waitMs: 100 }), []);
        await eventually(async () => (await store.groups.parked('g')).parked.length === 1, 'the event is parked');
        assert.match((await store.groups.parked('g')).parked[0]!.reason, /timeout/);
      });

      test('parked events page, replay at attempt 1 in position order, and can be deleted', async (store) => {
        await store.groups.create('g', quick);
        await store.append('a-1', events(3));
        const got = await store.groups.pull('g', { consumer: 'c1', max: 3 });
        await store.groups.nack('g', idsOf(got).reverse(), { action: 'park', reason: 'later' });
        const page = await store.groups.parked('g', { limit: 2 });
        assert.deepEqual(
          page.parked.map((parked) => parked.event.position),
          positionsOf(got).slice(0, 2),
        );
        assert.equal(page.next, got[1]!.event.position);
        assert.deepEqual(
          (await store.groups.parked('g', { after: page.next })).parked.map((parked) => parked.event.position),
          [got[2]!.event.position],
        );
        assert.deepEqual(
          await store.groups.replayParked('g', { ids: [got[0]!.event.position, got[1]!.event.position, got[0]!.event.position] }),
          { replayed: 2 },
        );
        const replayed = await pullAll(store, 'g', 2);
        assert.deepEqual(positionsOf(replayed), positionsOf(got).slice(0, 2));
        assert.deepEqual(
          replayed.map(({ attempt, replay }) => ({ attempt, replay })),
          Array(2).fill({ attempt: 1, replay: true }),
        );
        assert.deepEqual(await store.groups.deleteParked('g'), { deleted: 1 });
        assert.deepEqual((await store.groups.parked('g')).parked, []);
      });

      test('the checkpoint never passes an unsettled event', async (store) => {
        await store.groups.create('g', quick);
        const { position: start } = await store.append('a-1', events(1));
        await store.append('a-2', events(2));
        const got = await store.groups.pull('g', { consumer: 'c1', max: 3 });
        await store.groups.ack('g', idsOf(got.slice(1)));
        assert.ok((await store.groups.info('g')).checkpoint < start);
        await store.groups.nack('g', [got[0]!.id], { action: 'skip' });
        assert.equal((await store.groups.info('g')).checkpoint, got[2]!.event.position);
      });

      test('info reports consumers, in flight, lag and rate', async (store) => {
        await store.groups.create('g', quick);
        await store.append('a-1', events(4));
        const got = await store.groups.pull('g', { consumer: 'worker', max: 2 });
        let info = await store.groups.info('g');
        assert.equal(info.inFlight, 2);
        assert.equal(info.lag.events, 4);
        assert.ok(info.lag.seconds >= 0);
        assert.equal(info.consumers[0]!.name, 'worker');
        assert.ok(info.consumers[0]!.lastSeenAt instanceof Date);
        await store.groups.ack('g', idsOf(got));
        info = await store.groups.info('g');
        assert.equal(info.lag.events, 2);
        assert.ok(info.rate > 0);
      });
    });

    describe('replay', () => {
      test('delivers a past range again to this group only, without moving the checkpoint', async (store) => {
        await store.groups.create('g', quick);
        await store.groups.create('other', quick);
        await store.append('a-1', events(3));
        await store.append('b-1', events(1));
        const first = await pullAll(store, 'g', 4);
        await store.groups.ack('g', idsOf(first));
        await pullAll(store, 'other', 4);
        const checkpoint = (await store.groups.info('g')).checkpoint;
        const range = await store.groups.replay('g', { from: first[1]!.event.position, stream: 'a-1' });
        assert.deepEqual(range, { from: first[1]!.event.position, to: checkpoint });
        const replayed = await pullAll(store, 'g', 2);
        assert.deepEqual(positionsOf(replayed), positionsOf(first.slice(1, 3)));
        assert.ok(replayed.every((delivery) => delivery.replay && delivery.attempt === 1));
        assert.deepEqual(await store.groups.pull('other', { consumer: 'c1', waitMs: 100 }), []);
        assert.equal((await store.groups.info('g')).checkpoint, checkpoint);
      });

      test('one replay at a time', async (store) => {
        await store.groups.create('g', { maxPending: 1, ...quick });
        await store.append('a-1', events(3));
        const [first] = await pullAll(store, 'g', 1);
        await store.groups.ack('g', [first!.id]);
        await store.groups.replay('g', { from: 1, to: (await store.stats()).headPosition });
        await rejectsWith(store.groups.replay('g', { from: 1 }), 'conflict');
      });
    });

    describe('the consumer helper', () => {
      test('acks what succeeds, retries what throws, parks on ParkError, skips on SkipError', async (store) => {
        await store.groups.create('g', { maxRetries: 5, ...quick });
        await store.append('a-1', [
          { type: 'Ok', data: {} },
          { type: 'Flaky', data: {} },
          { type: 'Poison', data: {} },
          { type: 'Ignore', data: {} },
        ]);
        const seen: string[] = [];
        let flaky = 0;
        const consumer = store.groups.consume(
          'g',
          async (event, delivery) => {
            seen.push(`${event.type}:${delivery.attempt}`);
            if (event.type === 'Flaky' && ++flaky < 3) throw new Error('not yet');
            if (event.type === 'Poison') throw new ParkError('cannot handle');
            if (event.type === 'Ignore') throw new SkipError('not ours');
          },
          { consumer: 'helper', concurrency: 2 },
        );
        await eventually(async () => {
          const info = await store.groups.info('g');
          return info.checkpoint === info.lastPosition && info.lastPosition > 0n;
        }, 'every event is settled');
        await consumer.close();
        assert.ok(seen.includes('Flaky:3'));
        assert.equal(seen.filter((entry) => entry.startsWith('Ok')).length, 1);
        const { parked } = await store.groups.parked('g');
        assert.deepEqual(
          parked.map((entry) => [entry.event.type, entry.reason]),
          [['Poison', 'cannot handle']],
        );
      });

      test('settles every event when many handlers finish together', async (store) => {
        await store.groups.create('g', quick);
        for (let index = 0; index < 10; index++) await store.append(`s-${index}`, events(50));
        let handled = 0;
        const consumers = [1, 2, 3, 4].map((index) =>
          store.groups.consume(
            'g',
            () => {
              handled++;
            },
            { consumer: `helper-${index}`, concurrency: 64 },
          ),
        );
        await eventually(async () => handled >= 500, 'every event is handled');
        await Promise.all(consumers.map((consumer) => consumer.close()));
        const info = await store.groups.info('g');
        assert.deepEqual({ pending: info.pending, checkpoint: info.checkpoint }, { pending: 0, checkpoint: info.lastPosition });
      });

      test('close waits for running handlers and acks them', async (store) => {
        await store.groups.create('g', quick);
        await store.append('a-1', events(1));
        let started!: () => void;
        const running = new Promise<void>((resolve) => (started = resolve));
        let finished = false;
        const consumer = store.groups.consume(
          'g',
          async () => {
            started();
            await sleep(100);
            finished = true;
          },
          { consumer: 'helper' },
        );
        await running;
        await consumer.close();
        assert.equal(finished, true);
        const info = await store.groups.info('g');
        assert.equal(info.checkpoint, info.lastPosition);
      });

      test('ends with not_found when its group is deleted', async (store) => {
        await store.groups.create('g', quick);
        const consumer = store.groups.consume('g', () => undefined, { consumer: 'helper' });
        await sleep(50);
        await store.groups.delete('g');
        await rejectsWith(consumer.done, 'not_found');
      });
    });

    if (reopen !== undefined) {
      describe('restarts', () => {
        test('settled progress, leases, parked events and replays survive a restart', async (store) => {
          await store.groups.create('g', { ackTimeoutMs: 300, retryDelayMs: 0, strategy: 'pinned' });
          await store.append('a-1', events(3));
          await store.append('b-1', events(1));
          const got = await store.groups.pull('g', { consumer: 'c1', max: 10 });
          assert.equal(got.length, 2);
          await store.groups.ack('g', [got[0]!.id]);
          await store.groups.nack('g', [got[1]!.id], { action: 'park', reason: 'kept' });
          const before = await store.groups.info('g');
          store = await reopen(store);
          const after = await store.groups.info('g');
          assert.deepEqual(
            { checkpoint: after.checkpoint, lastPosition: after.lastPosition, parked: after.parked, settings: after.settings },
            { checkpoint: before.checkpoint, lastPosition: before.lastPosition, parked: 1, settings: before.settings },
          );
          const [next] = await pullAll(store, 'g', 1);
          assert.deepEqual([next!.event.stream, next!.event.revision, next!.attempt], ['a-1', 1, 1]);
          assert.deepEqual(
            await store.groups.pull('g', { consumer: 'c2', waitMs: 100 }),
            [],
            'pinned: one per stream after the restart too',
          );
          await store.groups.ack('g', [next!.id]);
          assert.deepEqual(
            (await pullAll(store, 'g', 1)).map((delivery) => delivery.event.revision),
            [2],
          );
          return store;
        });
      });
    }
  });
};
