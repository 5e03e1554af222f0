/**
 * Conformance of `importEvents` and `startEpoch` (DESIGN.md section 11): a log copied into another store
 * of the same implementation reads back exactly, system events included, or is refused whole.
 */
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import type { EventStore } from '../event-store.js';
import { eventOfRecord } from '../importing.js';
import type { ReadAllOptions, RecordedEvent } from '../model.js';
import { collect, events, rejectsWith, storeTest, take, type OpenStore } from './harness.js';

const everything = { filter: { includeSystem: true } };

/** A log with every kind of change: appends, metadata, a soft delete and a later append, a tombstone. */
const writeHistory = async (store: EventStore) => {
  await store.append('order-1', events(2));
  await store.append('invoice-1', events(1));
  await store.setMetadata('order-1', { maxCount: 10, custom: { owner: 'sales' } });
  await store.deleteStream('invoice-1');
  await store.append('invoice-1', events(1, 'Reissued'));
  await store.append('temp-1', events(1));
  await store.tombstoneStream('temp-1');
  await store.append('order-2', events(3));
};

/** What a reader of the store can see, stream by stream. */
const contents = async (store: EventStore) => ({
  log: await store.readAll(everything),
  order1: await store.readStream('order-1'),
  invoice1: await store.readStream('invoice-1'),
  metadata: await store.getMetadata('order-1'),
  streams: await store.listStreams(),
  temp1: await store.readStream('temp-1').then(
    () => 'readable',
    (error: { code?: string }) => error.code,
  ),
});

const withoutPositions = (log: RecordedEvent[]) => log.map(({ position: _position, ...event }) => event);

export const describeCopying = (openStore: OpenStore): void => {
  const test = storeTest(openStore);
  /** Runs `body` with a second, empty store of the same kind, closed afterwards. */
  const withTarget = async (body: (target: EventStore) => Promise<void>) => {
    const target = await openStore();
    try {
      await body(target);
    } finally {
      await target.close();
    }
  };

  describe('copying a log', () => {
    test('reads the log as records: the same events, data and metadata as stored JSON text, filters applied', async (store) => {
      await writeHistory(store);
      const recordsOf = async (options: Parameters<EventStore['iterateAllRecords']>[0]) => {
        const records = [];
        for await (const record of store.iterateAllRecords(options)) records.push(record);
        return records;
      };
      assert.deepEqual((await recordsOf(everything)).map(eventOfRecord), await store.readAll(everything));
      assert.deepEqual((await recordsOf({ from: 3n, limit: 4 })).map(eventOfRecord), await store.readAll({ from: 3n, limit: 4 }));
      const backwards: ReadAllOptions = { direction: 'backwards', from: 'end', filter: { streams: ['order-'] } };
      assert.deepEqual((await recordsOf(backwards)).map(eventOfRecord), await store.readAll(backwards));
    });

    test('copies a log into an empty store keeping positions, system events and identity', async (source) => {
      await writeHistory(source);
      const log = await source.readAll(everything);
      const identity = await source.stats();
      await withTarget(async (target) => {
        const result = await target.importEvents(log, { keepPositions: true, source: identity });
        assert.deepEqual(result, { events: log.length, headPosition: log.at(-1)!.position });
        assert.deepEqual(await contents(target), await contents(source));
        const stats = await target.stats();
        assert.deepEqual(
          [stats.storeId, stats.epoch, stats.headPosition, stats.events, stats.streams],
          [identity.storeId, identity.epoch, identity.headPosition, identity.events, identity.streams],
        );
      });
    });

    test('copies in batches, as a resumed copy does', async (source) => {
      await writeHistory(source);
      const log = await source.readAll(everything);
      const identity = await source.stats();
      await withTarget(async (target) => {
        for (let start = 0; start < log.length; start += 3) {
          await target.importEvents(log.slice(start, start + 3), { keepPositions: true, source: identity });
        }
        assert.deepEqual(await contents(target), await contents(source));
      });
    });

    test('appends after what a store holds with new positions, keeping order, ids and revisions', async (source) => {
      await writeHistory(source);
      const log = await source.readAll(everything);
      await withTarget(async (target) => {
        await target.append('local-1', events(2));
        const head = (await target.stats()).headPosition;
        const result = await target.importEvents(log);
        assert.equal(result.headPosition, head + BigInt(log.length));
        const copied = (await target.readAll({ ...everything, from: head + 1n })).map((event) => event.position);
        assert.deepEqual(
          copied,
          log.map((_, index) => head + 1n + BigInt(index)),
        );
        assert.deepEqual(withoutPositions(await target.readAll({ ...everything, from: head + 1n })), withoutPositions(log));
        assert.equal((await target.stats()).storeId === (await source.stats()).storeId, false);
      });
    });

    test('tells subscribers of imported events', async (source) => {
      await source.append('order-1', events(3));
      const log = await source.readAll();
      await withTarget(async (target) => {
        const subscription = target.subscribe({ from: 'start' });
        const received = collect(
          (async function* () {
            let seen = 0;
            for await (const message of subscription) {
              if ('position' in message && 'stream' in message) yield message;
              if (++seen === 4) return;
            }
          })(),
        );
        await target.importEvents(log, { keepPositions: true });
        assert.deepEqual(
          (await received).map((event) => event.position),
          log.map((event) => event.position),
        );
        await subscription.close();
      });
    });

    test('refuses an event that does not follow what the store holds, and writes nothing', async (source) => {
      await writeHistory(source);
      const log = await source.readAll(everything);
      const identity = await source.stats();
      await withTarget(async (target) => {
        await target.importEvents(log.slice(0, 2), { keepPositions: true });
        const before = await contents(target);
        // Again: positions not above the head, revisions not next.
        await rejectsWith(target.importEvents(log.slice(0, 2), { keepPositions: true }), 'conflict');
        // A revision skipped.
        await rejectsWith(target.importEvents([{ ...log[2]!, revision: 5 }], { keepPositions: true }), 'conflict');
        // A batch whose last event repeats an id: the events before it are not kept either.
        await rejectsWith(target.importEvents([log[2]!, { ...log[3]!, id: log[0]!.id }], { keepPositions: true }), 'conflict');
        // Another store's identity on a store that holds events.
        await rejectsWith(
          target.importEvents(log.slice(2), { keepPositions: true, source: { ...identity, storeId: 'another' } }),
          'conflict',
        );
        assert.deepEqual(await contents(target), before);
      });
    });

    test('refuses bad events, naming the field', async (store) => {
      const [good] = await (async () => {
        await store.append('order-1', events(1));
        return store.readAll();
      })();
      await withTarget(async (target) => {
        const bad: [unknown, RegExp][] = [
          [{ ...good, position: 1 }, /events\[0\]\.position/],
          [{ ...good, revision: -1 }, /events\[0\]\.revision/],
          [{ ...good, id: 'x' }, /event id/],
          [{ ...good, recordedAt: 'yesterday' }, /events\[0\]\.recordedAt/],
          [{ ...good, stream: '$order-1' }, /events\[0\]\.stream/],
          [{ ...good, stream: '$$order-1', type: 'Placed' }, /events\[0\]\.type/],
          [{ ...good, stream: '$$order-1', type: '$deleted', data: { hard: 'yes', lastRevision: 0 } }, /events\[0\]\.data\.hard/],
          [{ ...good, extra: 1 }, /unknown field 'extra'/],
        ];
        for (const [event, message] of bad) {
          const error = await rejectsWith(target.importEvents([event as RecordedEvent], { keepPositions: true }), 'invalid_argument');
          assert.match(error.message, message);
        }
        await rejectsWith(target.importEvents([good!], { keepPositions: 'yes' as never }), 'invalid_argument');
        assert.deepEqual(await target.readAll(everything), []);
      });
    });

    test('refuses a subscription from beyond the head, as a cursor of another store or epoch', async (store) => {
      const { position } = await store.append('order-1', events(2));
      const subscription = store.subscribe({ from: position + 5n });
      await rejectsWith(collect(subscription), 'conflict');
      const atHead = store.subscribe({ from: position });
      const [first] = await take(atHead, 1);
      assert.deepEqual(first, { caughtUp: true });
      await atHead.close();
    });

    test('starts a new epoch at the head', async (store) => {
      const before = await store.stats();
      assert.equal(before.epoch, 1);
      assert.equal(before.epochStart, 0n);
      const { position } = await store.append('order-1', events(2));
      const identity = await store.startEpoch();
      assert.deepEqual(identity, { storeId: before.storeId, epoch: 2, epochStart: position });
      const after = await store.stats();
      assert.deepEqual([after.storeId, after.epoch, after.epochStart], [before.storeId, 2, position]);
    });
  });
};
