/**
 * The conformance suite: every rule of DESIGN.md sections 2 to 4, run alike against every `EventStore`
 * (each engine, and the HTTP client talking to a server on each engine).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import type { EventStore } from '../event-store.js';
import {
  isCaughtUp,
  isCheckpoint,
  isEvent,
  type AppendResult,
  type RecordedEvent,
  type StreamMetadata,
  type SubscriptionMessage,
} from '../model.js';
import { collect, event, events, rejectsWith, rejectsWrongRevision, storeTest, take, type OpenStore } from './harness.js';
import { describeCopying } from './copying.js';
import { describeModelComparison } from './model-based.js';

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Takes `count` messages of a subscription; `caughtUp` settles once its history is delivered, so that what
 * a test appends after it arrives live, whatever the machine's load (a fixed sleep would race).
 */
const takeLive = (subscription: AsyncIterable<SubscriptionMessage>, count: number) => {
  let reached = () => {};
  const caughtUp = new Promise<void>((resolve) => (reached = resolve));
  const messages = (async () => {
    const taken: SubscriptionMessage[] = [];
    try {
      for await (const message of subscription) {
        taken.push(message);
        if (isCaughtUp(message)) reached();
        if (taken.length === count) break;
      }
    } finally {
      reached();
    }
    return taken;
  })();
  return { messages, caughtUp };
};

export const describeConformance = (name: string, openStore: OpenStore): void => {
  const test = storeTest(openStore);

  /** Asserts that a rejected call left the store as it was. */
  const nothingWritten = async (store: EventStore) => {
    assert.deepEqual(await store.readAll(), []);
    assert.equal((await store.stats()).events, 0);
  };

  describe(`EventStore conformance: ${name}`, () => {
    describe('append and read', () => {
      test('records events with revisions, positions, ids, metadata and time', async (store) => {
        const before = Date.now();
        const result = await store.append('order-1', [
          event('Placed', { total: 10 }, { metadata: { correlationId: 'c-1' } }),
          event('Paid', { amount: 10 }),
        ]);
        const read = await store.readStream('order-1');
        assert.equal(read.length, 2);
        assert.deepEqual(result, { revision: 1, position: read[1]!.position, recordedAt: read[1]!.recordedAt });
        assert.deepEqual(read[0]!.recordedAt, read[1]!.recordedAt, 'the events of one append share their time');
        assert.equal(read[0]!.position, read[1]!.position - 1n, 'the events of one append have consecutive positions');
        const [placed, paid] = read as [RecordedEvent, RecordedEvent];
        assert.equal(placed.stream, 'order-1');
        assert.deepEqual([placed.revision, paid.revision], [0, 1]);
        assert.equal(typeof placed.position, 'bigint');
        assert.ok(placed.position < paid.position);
        assert.match(placed.id, uuidPattern);
        assert.notEqual(placed.id, paid.id);
        assert.deepEqual([placed.type, placed.data, placed.metadata], ['Placed', { total: 10 }, { correlationId: 'c-1' }]);
        assert.deepEqual(paid.metadata, {});
        assert.ok(placed.recordedAt instanceof Date);
        assert.ok(placed.recordedAt.getTime() >= before - 1000 && placed.recordedAt.getTime() <= Date.now() + 1000);
      });

      test('keeps the ids the caller gives', async (store) => {
        const id = randomUUID();
        await store.append('s-1', [event('A', {}, { id: id.toUpperCase() })]);
        assert.equal((await store.readStream('s-1'))[0]!.id, id);
      });

      test('round-trips any JSON value as data', async (store) => {
        const values = [
          null,
          true,
          0,
          -1.5,
          1e21,
          'text',
          'ünïcödé 🎉',
          [],
          [1, [2, { a: null }]],
          { nested: { deep: [1, 'x'] }, 'key with space': 1 },
        ];
        await store.append(
          'json-1',
          values.map((data) => event('Value', data)),
        );
        assert.deepEqual(
          (await store.readStream('json-1')).map((e) => e.data),
          values,
        );
      });

      test('positions increase across streams in the order of the log', async (store) => {
        await store.append('a-1', events(2));
        await store.append('b-1', events(1));
        await store.append('a-1', events(1));
        const all = await store.readAll();
        assert.deepEqual(
          all.map((e) => `${e.stream}@${e.revision}`),
          ['a-1@0', 'a-1@1', 'b-1@0', 'a-1@2'],
        );
        for (let i = 1; i < all.length; i++) assert.ok(all[i]!.position > all[i - 1]!.position);
      });

      test('an append with an invalid event writes none of its events', async (store) => {
        await rejectsWith(store.append('s-1', [event('Ok'), { type: '', data: {} }]), 'invalid_argument');
        await nothingWritten(store);
      });

      test('accepts unicode stream names up to 255 UTF-8 bytes', async (store) => {
        const name = `ü-${'x'.repeat(252)}`;
        assert.equal(Buffer.byteLength(name), 255);
        await store.append(name, events(1));
        await store.append('заказ-1', events(1));
        assert.equal((await store.readStream(name)).length, 1);
        assert.equal((await store.readStream('заказ-1'))[0]!.stream, 'заказ-1');
      });

      test('reads an absent stream as empty', async (store) => {
        assert.deepEqual(await store.readStream('nothing-here'), []);
      });

      test('reads a stream from a revision, backwards, and with a limit', async (store) => {
        await store.append('s-1', events(10));
        const revisions = async (options: Parameters<EventStore['readStream']>[1]) =>
          (await store.readStream('s-1', options)).map((e) => e.revision);
        assert.deepEqual(await revisions({ from: 7 }), [7, 8, 9]);
        assert.deepEqual(await revisions({ from: 2, limit: 3 }), [2, 3, 4]);
        assert.deepEqual(await revisions({ direction: 'backwards', limit: 3 }), [9, 8, 7]);
        assert.deepEqual(await revisions({ direction: 'backwards', from: 1 }), [1, 0]);
        assert.deepEqual(await revisions({ from: 'end' }), []);
        assert.deepEqual(await revisions({ from: 'end', direction: 'backwards', limit: 1 }), [9]);
        assert.deepEqual(await revisions({ from: 'start', limit: 1 }), [0]);
        assert.deepEqual(await revisions({ from: 50 }), []);
      });

      test('reads the global log from a position, backwards, and with a limit', async (store) => {
        await store.append('a-1', events(3));
        await store.append('b-1', events(3));
        const all = await store.readAll();
        const third = all[2]!.position;
        assert.deepEqual(
          (await store.readAll({ from: third })).map((e) => e.position),
          all.slice(2).map((e) => e.position),
        );
        assert.deepEqual((await store.readAll({ from: third, limit: 2 })).length, 2);
        assert.deepEqual(
          (await store.readAll({ direction: 'backwards', limit: 4 })).map((e) => e.position),
          all
            .slice(2)
            .reverse()
            .map((e) => e.position),
        );
        assert.deepEqual(
          (await store.readAll({ direction: 'backwards', from: third })).map((e) => e.position),
          all
            .slice(0, 3)
            .reverse()
            .map((e) => e.position),
        );
        assert.deepEqual(await store.readAll({ from: 'end' }), []);
        assert.deepEqual(await store.readAll({ from: all.at(-1)!.position + 1n }), []);
      });

      test('filters the global log by event type, stream prefix and category', async (store) => {
        await store.append('order-1', [event('Placed'), event('Paid')]);
        await store.append('orders-2', [event('Placed')]);
        await store.append('order', [event('Noted')]);
        await store.append('user-1', [event('Registered'), event('Placed')]);
        const streamsOf = async (filter: NonNullable<Parameters<EventStore['readAll']>[0]>['filter']) =>
          (await store.readAll({ filter })).map((e) => `${e.stream}:${e.type}`);
        assert.deepEqual(await streamsOf({ types: ['Placed'] }), ['order-1:Placed', 'orders-2:Placed', 'user-1:Placed']);
        assert.deepEqual(await streamsOf({ types: ['Paid', 'Registered'] }), ['order-1:Paid', 'user-1:Registered']);
        assert.deepEqual(await streamsOf({ streams: ['order'] }), ['order-1:Placed', 'order-1:Paid', 'orders-2:Placed', 'order:Noted']);
        assert.deepEqual(await streamsOf({ streams: ['user-', 'orders-'] }), ['orders-2:Placed', 'user-1:Registered', 'user-1:Placed']);
        assert.deepEqual(await streamsOf({ category: 'order' }), ['order-1:Placed', 'order-1:Paid', 'order:Noted']);
        assert.deepEqual(await streamsOf({ category: 'order', types: ['Placed'] }), ['order-1:Placed']);
        assert.deepEqual(
          (await store.readAll({ filter: { types: ['Placed'] }, direction: 'backwards', limit: 2 })).map((e) => e.stream),
          ['user-1', 'orders-2'],
        );
      });

      test('treats LIKE wildcards in filters as plain characters', async (store) => {
        await store.append('a_b-1', events(1));
        await store.append('axb-1', events(1));
        await store.append('100%-1', events(1));
        await store.append('1000-1', events(1));
        assert.deepEqual(
          (await store.readAll({ filter: { streams: ['a_b'] } })).map((e) => e.stream),
          ['a_b-1'],
        );
        assert.deepEqual(
          (await store.readAll({ filter: { streams: ['100%'] } })).map((e) => e.stream),
          ['100%-1'],
        );
        assert.deepEqual(
          (await store.readAll({ filter: { category: 'a_b' } })).map((e) => e.stream),
          ['a_b-1'],
        );
      });

      test('iterates long streams and the log in pages, in both directions', async (store) => {
        const batch = events(2500);
        await store.append('long-1', batch.slice(0, 1200));
        await store.append('other-1', events(3));
        await store.append('long-1', batch.slice(1200));
        const forwards = await collect(store.iterateStream('long-1'));
        assert.deepEqual(
          forwards.map((e) => e.revision),
          [...Array(2500).keys()],
        );
        const backwards = await collect(store.iterateStream('long-1', { direction: 'backwards', limit: 1100 }));
        assert.deepEqual(
          backwards.map((e) => e.revision),
          [...Array(1100).keys()].map((i) => 2499 - i),
        );
        const all = await collect(store.iterateAll());
        assert.equal(all.length, 2503);
        for (let i = 1; i < all.length; i++) assert.ok(all[i]!.position > all[i - 1]!.position);
        const allBackwards = await collect(store.iterateAll({ direction: 'backwards' }));
        assert.deepEqual(
          allBackwards.map((e) => e.id),
          all.map((e) => e.id).reverse(),
        );
        const filtered = await collect(store.iterateAll({ filter: { streams: ['other-'] } }));
        assert.equal(filtered.length, 3);
        const from = all[1500]!.position;
        assert.equal((await collect(store.iterateAll({ from, limit: 1001 })))[0]!.position, from);
        assert.equal((await collect(store.iterateAll({ from, limit: 1001 }))).length, 1001);
      });
    });

    describe('events by id', () => {
      test('reads an event by its id, as written, also when the metadata hides it from reads', async (store) => {
        const id = '0190f7a2-4b1c-7c3d-8e9f-0a1b2c3d4e5f';
        await store.append('order-1', [event('Placed', { total: 1 }, { id, metadata: { commandId: 'c-1' } }), event('Paid')]);
        const [placed] = await store.readStream('order-1');
        assert.deepEqual(await store.readEvent(id), placed);
        assert.deepEqual(await store.readEvent(id.toUpperCase()), placed);
        await store.setMetadata('order-1', { maxCount: 1 });
        assert.deepEqual(await store.readEvent(id), placed);
        assert.equal(await store.readEvent('0190f7a2-4b1c-7c3d-8e9f-000000000000'), undefined);
      });

      test('forgets the events of a deleted stream, and refuses an id that is not a UUID', async (store) => {
        const id = '0190f7a2-4b1c-7c3d-8e9f-0a1b2c3d4e60';
        await store.append('order-2', [event('Placed', {}, { id })]);
        await store.deleteStream('order-2');
        assert.equal(await store.readEvent(id), undefined);
        const error = await rejectsWith(store.readEvent('order-2'), 'invalid_argument');
        assert.match(error.message, /event id/);
      });
    });

    describe('expected revision', () => {
      test('no_stream holds only while the stream is absent', async (store) => {
        assert.equal((await store.append('s-1', events(1), { expectedRevision: 'no_stream' })).revision, 0);
        await rejectsWrongRevision(store.append('s-1', events(1), { expectedRevision: 'no_stream' }), 'no_stream', 0);
        assert.equal((await store.readStream('s-1')).length, 1);
      });

      test('stream_exists holds only once the stream has events', async (store) => {
        await rejectsWrongRevision(store.append('s-1', events(1), { expectedRevision: 'stream_exists' }), 'stream_exists', 'no_stream');
        await nothingWritten(store);
        await store.append('s-1', events(1));
        assert.equal((await store.append('s-1', events(1), { expectedRevision: 'stream_exists' })).revision, 1);
      });

      test('a revision number holds only when it is the last revision', async (store) => {
        await store.append('s-1', events(3));
        assert.equal((await store.append('s-1', events(1), { expectedRevision: 2 })).revision, 3);
        await rejectsWrongRevision(store.append('s-1', events(1), { expectedRevision: 2 }), 2, 3);
        await rejectsWrongRevision(store.append('s-1', events(1), { expectedRevision: 9 }), 9, 3);
        await rejectsWrongRevision(store.append('s-2', events(1), { expectedRevision: 0 }), 0, 'no_stream');
        assert.equal((await store.readStream('s-1')).length, 4);
      });

      test('any always holds', async (store) => {
        await store.append('s-1', events(1), { expectedRevision: 'any' });
        assert.equal((await store.append('s-1', events(1), { expectedRevision: 'any' })).revision, 1);
      });

      test('concurrent writers with the same expected revision: exactly one wins', async (store) => {
        await store.append('race-1', events(1));
        const outcomes = await Promise.allSettled(
          Array.from({ length: 16 }, () => store.append('race-1', events(2), { expectedRevision: 0 })),
        );
        const won = outcomes.filter((outcome) => outcome.status === 'fulfilled');
        assert.equal(won.length, 1);
        for (const outcome of outcomes) {
          if (outcome.status === 'rejected') assert.equal((outcome.reason as { code: string }).code, 'wrong_expected_revision');
        }
        assert.deepEqual(
          (await store.readStream('race-1')).map((e) => e.revision),
          [0, 1, 2],
        );
      });

      test('concurrent appends with any all land, each with its own revisions', async (store) => {
        const results = await Promise.all(Array.from({ length: 20 }, () => store.append('busy-1', events(3))));
        const revisions = results.map((result) => result.revision).sort((a, b) => a - b);
        assert.deepEqual(
          revisions,
          Array.from({ length: 20 }, (_, i) => i * 3 + 2),
        );
        const read = await store.readStream('busy-1');
        assert.deepEqual(
          read.map((e) => e.revision),
          [...Array(60).keys()],
        );
        for (const result of results) assert.equal(read[result.revision]!.position, result.position);
      });
    });

    describe('idempotent appends', () => {
      const withIds = (count: number) => events(count).map((e) => ({ ...e, id: randomUUID() }));

      for (const expectedRevision of ['any', 'no_stream', 'stream_exists', 0] as const) {
        test(`a retried append with expected revision ${expectedRevision} returns the first result and writes nothing`, async (store) => {
          const first = expectedRevision === 'no_stream' ? [] : [event('Before')];
          if (first.length > 0) await store.append('s-1', first);
          const batch = withIds(3);
          const original = await store.append('s-1', batch, { expectedRevision });
          await store.append('s-1', events(1));
          const { recordedAt: _, ...written } = original;
          assert.deepEqual(await store.append('s-1', batch, { expectedRevision }), written, 'found written: no recordedAt');
          assert.equal((await store.readStream('s-1')).length, first.length + 4);
        });
      }

      test('the same ids with other content are a conflict', async (store) => {
        const batch = withIds(2);
        await store.append('s-1', batch);
        const changed = [batch[0]!, { ...batch[1]!, data: { changed: true } }];
        await rejectsWith(store.append('s-1', changed), 'wrong_expected_revision');
        await rejectsWith(store.append('s-1', [{ ...batch[0]!, type: 'Other' }, batch[1]!]), 'wrong_expected_revision');
        assert.equal((await store.readStream('s-1')).length, 2);
      });

      test('a retry of the first events of an append matches those events', async (store) => {
        const batch = withIds(2);
        await store.append('s-1', batch);
        const [first] = await store.readStream('s-1');
        assert.deepEqual(await store.append('s-1', [batch[0]!], { expectedRevision: 'no_stream' }), {
          revision: 0,
          position: first!.position,
        });
        assert.equal((await store.readStream('s-1')).length, 2);
      });

      test('a partial match is a conflict', async (store) => {
        const batch = withIds(2);
        await store.append('s-1', batch);
        await rejectsWith(store.append('s-1', [...batch, ...withIds(1)]), 'wrong_expected_revision');
        await rejectsWith(store.append('s-1', [...withIds(1), batch[0]!]), 'wrong_expected_revision');
        assert.equal((await store.readStream('s-1')).length, 2);
      });

      test('the same ids at another place are a conflict', async (store) => {
        const batch = withIds(1);
        await store.append('s-1', events(2));
        await store.append('s-1', batch, { expectedRevision: 1 });
        await rejectsWith(store.append('s-1', batch, { expectedRevision: 0 }), 'wrong_expected_revision');
        await rejectsWith(store.append('s-2', batch), 'wrong_expected_revision');
        assert.equal((await store.readAll()).length, 3);
      });

      test('concurrent retries of one append write it once', async (store) => {
        const batch = withIds(2);
        const results = await Promise.all(Array.from({ length: 8 }, () => store.append('s-1', batch, { expectedRevision: 'no_stream' })));
        const place = ({ revision, position }: AppendResult) => ({ revision, position });
        for (const result of results) assert.deepEqual(place(result), place(results[0]!));
        assert.equal((await store.readStream('s-1')).length, 2);
      });
    });

    describe('delete and tombstone', () => {
      test('a soft-deleted stream reads as absent and continues its revisions when written again', async (store) => {
        await store.append('s-1', events(3));
        await store.append('keep-1', events(1));
        await store.deleteStream('s-1');
        assert.deepEqual(await store.readStream('s-1'), []);
        assert.deepEqual(
          (await store.readAll()).map((e) => e.stream),
          ['keep-1'],
        );
        assert.equal((await store.stats()).streams, 1);
        const result = await store.append('s-1', events(1), { expectedRevision: 'no_stream' });
        assert.equal(result.revision, 3);
        assert.deepEqual(
          (await store.readStream('s-1')).map((e) => e.revision),
          [3],
        );
      });

      test('delete checks the expected revision', async (store) => {
        await store.append('s-1', events(2));
        await rejectsWrongRevision(store.deleteStream('s-1', { expectedRevision: 0 }), 0, 1);
        await store.deleteStream('s-1', { expectedRevision: 1 });
        await rejectsWrongRevision(store.deleteStream('s-1', { expectedRevision: 'stream_exists' }), 'stream_exists', 'no_stream');
        await rejectsWrongRevision(store.append('s-1', events(1), { expectedRevision: 1 }), 1, 'no_stream');
      });

      test('positions are never reused, even after the last events are deleted', async (store) => {
        await store.append('s-1', events(2));
        const last = (await store.readAll()).at(-1)!.position;
        await store.deleteStream('s-1');
        await store.append('s-2', events(1));
        assert.ok((await store.readAll())[0]!.position > last);
      });

      test('a tombstoned stream can never be read or written again', async (store) => {
        await store.append('s-1', events(2));
        await store.append('keep-1', events(1));
        await store.tombstoneStream('s-1');
        await rejectsWith(store.readStream('s-1'), 'stream_deleted');
        await rejectsWith(store.append('s-1', events(1)), 'stream_deleted');
        await rejectsWith(store.append('s-1', events(1), { expectedRevision: 'no_stream' }), 'stream_deleted');
        await rejectsWith(store.deleteStream('s-1'), 'stream_deleted');
        await rejectsWith(store.tombstoneStream('s-1'), 'stream_deleted');
        await rejectsWith(store.getMetadata('s-1'), 'stream_deleted');
        await rejectsWith(store.setMetadata('s-1', { maxCount: 1 }), 'stream_deleted');
        assert.deepEqual(
          (await store.readAll()).map((e) => e.stream),
          ['keep-1'],
        );
      });

      test('an absent stream can be tombstoned', async (store) => {
        await store.tombstoneStream('never-1');
        await rejectsWith(store.append('never-1', events(1)), 'stream_deleted');
      });
    });

    describe('system events', () => {
      const withSystem = { filter: { includeSystem: true } };
      const system = async (store: EventStore, stream: string) =>
        (await store.readStream(`$$${stream}`)).map((e) => ({ type: e.type, data: e.data, revision: e.revision }));

      test('metadata changes, soft deletes and tombstones are recorded in $$<stream>, which survives them', async (store) => {
        await store.append('s-1', events(2));
        await store.setMetadata('s-1', { maxCount: 5, custom: { owner: 'a' } });
        await store.deleteStream('s-1');
        await store.append('s-1', events(1));
        await store.tombstoneStream('s-1');
        await store.tombstoneStream('never-1');
        assert.deepEqual(await system(store, 's-1'), [
          { type: '$metadata', data: { maxCount: 5, custom: { owner: 'a' } }, revision: 0 },
          { type: '$deleted', data: { hard: false, lastRevision: 1 }, revision: 1 },
          { type: '$deleted', data: { hard: true, lastRevision: 2 }, revision: 2 },
        ]);
        assert.deepEqual(await system(store, 'never-1'), [{ type: '$deleted', data: { hard: true, lastRevision: -1 }, revision: 0 }]);
        const [recorded] = await store.readStream('$$s-1', { limit: 1 });
        assert.equal((await store.readEvent(recorded!.id))?.type, '$metadata');
      });

      test('$all hides system events unless includeSystem is set; positions run on with ordinary events', async (store) => {
        await store.append('s-1', events(1));
        await store.setMetadata('s-1', { maxCount: 3 });
        await store.append('s-2', events(1));
        await store.deleteStream('s-2');
        await store.append('s-3', events(1));
        assert.deepEqual(
          (await store.readAll()).map((e) => e.stream),
          ['s-1', 's-3'],
        );
        const all = await store.readAll(withSystem);
        assert.deepEqual(
          all.map((e) => `${e.stream}:${e.type}`),
          ['s-1:Happened', '$$s-1:$metadata', '$$s-2:$deleted', 's-3:Happened'],
        );
        const first = all[0]!.position;
        assert.deepEqual(
          all.map((e) => e.position - first),
          [0n, 1n, 3n, 4n],
          'one log: the metadata change and the delete take the next positions (s-2 left with its event)',
        );
        assert.deepEqual(
          (await store.readAll({ filter: { streams: ['$$'] } })).map((e) => e.stream),
          [],
          'a filter naming system streams still needs includeSystem',
        );
        assert.deepEqual(
          (await store.readAll({ filter: { streams: ['$$s-1'], includeSystem: true } })).map((e) => e.type),
          ['$metadata'],
        );
        assert.deepEqual(
          (await store.readAll({ direction: 'backwards', limit: 1 })).map((e) => e.stream),
          ['s-3'],
        );
        assert.deepEqual(await collect(store.iterateAll()), await store.readAll());
        const stats = await store.stats();
        assert.deepEqual([stats.events, stats.streams], [2, 2], 'statistics count the streams and events users wrote');
        assert.deepEqual(
          (await store.listStreams()).map((s) => s.stream),
          ['s-1', 's-2', 's-3'],
          'listings leave system streams out unless the prefix asks for them',
        );
        assert.deepEqual(
          (await store.listStreams({ prefix: '$$' })).map((s) => s.stream),
          ['$$s-1', '$$s-2'],
        );
      });

      test('subscriptions deliver system events only with includeSystem', async (store) => {
        await store.append('s-1', events(1));
        await store.setMetadata('s-1', { maxCount: 3 });
        const plain = store.subscribe({ from: 'start' });
        const all = store.subscribe({ from: 'start', filter: { includeSystem: true } });
        try {
          const untilLive = (subscription: AsyncIterable<SubscriptionMessage>, count: number) => {
            const { messages, caughtUp } = takeLive(subscription, count);
            const described = messages.then((taken) =>
              taken.map((m) => (isEvent(m) ? `${m.stream}:${m.type}` : isCaughtUp(m) ? 'caughtUp' : 'other')),
            );
            return { described, caughtUp };
          };
          const { described: livePlain, caughtUp: plainCaughtUp } = untilLive(plain, 3);
          const { described: liveAll, caughtUp: allCaughtUp } = untilLive(all, 5);
          await Promise.all([plainCaughtUp, allCaughtUp]);
          await store.deleteStream('s-1');
          await store.append('s-2', events(1));
          assert.deepEqual(await livePlain, ['s-1:Happened', 'caughtUp', 's-2:Happened']);
          assert.deepEqual(await liveAll, ['s-1:Happened', '$$s-1:$metadata', 'caughtUp', '$$s-1:$deleted', 's-2:Happened']);
        } finally {
          await plain.close();
          await all.close();
        }
      });

      test('setMetadata checks expectedRevision against $$<stream> and writes nothing on a mismatch', async (store) => {
        await store.setMetadata('s-1', { maxCount: 1 }, { expectedRevision: 'no_stream' });
        await rejectsWrongRevision(store.setMetadata('s-1', { maxCount: 2 }, { expectedRevision: 'no_stream' }), 'no_stream', 0);
        await store.setMetadata('s-1', { maxCount: 2 }, { expectedRevision: 0 });
        await rejectsWrongRevision(store.setMetadata('s-1', { maxCount: 3 }, { expectedRevision: 0 }), 0, 1);
        await store.setMetadata('s-1', { maxCount: 4 });
        await store.setMetadata('s-1', { maxCount: 5 }, { expectedRevision: 'stream_exists' });
        await rejectsWith(store.setMetadata('s-1', {}, { expectedRevision: -1 as never }), 'invalid_argument');
        assert.deepEqual(await store.getMetadata('s-1'), { maxCount: 5 });
        assert.deepEqual(
          (await system(store, 's-1')).map((e) => e.data),
          [{ maxCount: 1 }, { maxCount: 2 }, { maxCount: 4 }, { maxCount: 5 }],
        );
      });

      test('users cannot write system streams', async (store) => {
        await store.setMetadata('s-1', { maxCount: 1 });
        await rejectsWith(store.append('$$s-1', events(1)), 'invalid_argument');
        await rejectsWith(store.setMetadata('$$s-1', {}), 'invalid_argument');
        await rejectsWith(store.deleteStream('$$s-1'), 'invalid_argument');
        await rejectsWith(store.tombstoneStream('$$s-1'), 'invalid_argument');
        assert.equal((await store.readStream('$$s-1')).length, 1);
      });
    });

    describe('listing streams', () => {
      test('lists written streams in name order, with revision, last position and deletion', async (store) => {
        const placed = await store.append('order-2', events(2));
        await store.append('order-1', events(1));
        await store.append('user-1', events(3));
        await store.append('gone-1', events(1));
        await store.deleteStream('gone-1');
        await store.append('dead-1', events(1));
        await store.tombstoneStream('dead-1');
        await store.setMetadata('only-metadata', { custom: { a: 1 } });
        const listed = await store.listStreams();
        assert.deepEqual(
          listed.map(({ stream, revision, deleted }) => ({ stream, revision, deleted })),
          [
            { stream: 'dead-1', revision: 0, deleted: 'hard' },
            { stream: 'gone-1', revision: 0, deleted: 'soft' },
            { stream: 'order-1', revision: 0, deleted: undefined },
            { stream: 'order-2', revision: 1, deleted: undefined },
            { stream: 'user-1', revision: 2, deleted: undefined },
          ],
        );
        assert.equal(listed.find((info) => info.stream === 'order-2')!.position, placed.position);
        assert.ok(listed.filter((info) => info.deleted !== undefined).every((info) => info.position === undefined));
      });

      test('pages by the last name, and narrows by prefix', async (store) => {
        for (const name of ['order', 'order-1', 'order-2', 'orders-1', 'ordes-1', 'a-1', 'z-1']) await store.append(name, events(1));
        const names = async (options?: Parameters<EventStore['listStreams']>[0]) =>
          (await store.listStreams(options)).map((info) => info.stream);
        assert.deepEqual(await names({ prefix: 'order' }), ['order', 'order-1', 'order-2', 'orders-1']);
        assert.deepEqual(await names({ prefix: 'order-' }), ['order-1', 'order-2']);
        assert.deepEqual(await names({ limit: 2 }), ['a-1', 'order']);
        assert.deepEqual(await names({ limit: 2, after: 'order' }), ['order-1', 'order-2']);
        assert.deepEqual(await names({ prefix: 'order', after: 'order-1', limit: 5 }), ['order-2', 'orders-1']);
        assert.deepEqual(await names({ after: 'z-1' }), []);
        assert.deepEqual(await names({ prefix: 'nothing' }), []);
      });

      test('sorts names by code point, as SQL does, on every engine', async (store) => {
        const names = ['s-\u{1F600}', 's-\u{E000}', 's-z', 's-\u00e9', 's-\u{10FFFF}x', 's-\u{10FFFF}'];
        for (const name of names) await store.append(name, events(1));
        const expected = [...names].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
        assert.deepEqual(
          (await store.listStreams({ prefix: 's-' })).map((info) => info.stream),
          expected,
        );
        assert.deepEqual(
          (await store.listStreams({ prefix: 's-\u{10FFFF}' })).map((info) => info.stream),
          ['s-\u{10FFFF}', 's-\u{10FFFF}x'],
        );
        assert.deepEqual(
          (await store.listStreams({ prefix: 's-\uD7FF' })).map((info) => info.stream),
          [],
        );
      });

      test('refuses bad options, naming them', async (store) => {
        for (const [options, message] of [
          [{ limit: 0 }, /limit is 0; allowed: an integer from 1 to 1000/],
          [{ limit: 1001 }, /limit/],
          [{ prefix: '' }, /prefix/],
          [{ after: 42 }, /stream name/],
          [{ order: 'desc' }, /unknown option 'order'/],
        ] as const) {
          assert.match((await rejectsWith(store.listStreams(options as never), 'invalid_argument')).message, message);
        }
      });
    });

    describe('stream metadata', () => {
      test('is empty until set, and reads back as set', async (store) => {
        assert.deepEqual(await store.getMetadata('s-1'), {});
        const metadata: StreamMetadata = {
          maxCount: 5,
          truncateBefore: 1,
          acl: { read: { roles: ['reader'] }, write: { tokens: ['billing'] } },
          custom: { owner: 'team-a' },
        };
        await store.setMetadata('s-1', metadata);
        assert.deepEqual(await store.getMetadata('s-1'), metadata);
        await store.setMetadata('s-1', { custom: { owner: 'team-b' } });
        assert.deepEqual(await store.getMetadata('s-1'), { custom: { owner: 'team-b' } });
        assert.deepEqual(await store.readStream('s-1'), []);
      });

      test('ACLs are listed for every stream that has one, tombstoned streams included', async (store) => {
        assert.deepEqual(await store.readAcls(), new Map());
        await store.setMetadata('open-1', { custom: { note: 'no acl' } });
        await store.setMetadata('secret-1', { acl: { read: { tokens: ['alice'] } } });
        await store.append('secret-2', events(1));
        await store.setMetadata('secret-2', { maxCount: 3, acl: { read: { roles: ['writer'] }, metaRead: { tokens: [] } } });
        await store.tombstoneStream('secret-2');
        assert.deepEqual(
          await store.readAcls(),
          new Map([
            ['secret-1', { read: { tokens: ['alice'] } }],
            ['secret-2', { read: { roles: ['writer'] }, metaRead: { tokens: [] } }],
          ]),
        );
        await store.setMetadata('secret-1', {});
        assert.deepEqual([...(await store.readAcls()).keys()], ['secret-2']);
      });

      test('maxCount keeps only the last events visible', async (store) => {
        await store.append('s-1', events(5));
        await store.setMetadata('s-1', { maxCount: 2 });
        assert.deepEqual(
          (await store.readStream('s-1')).map((e) => e.revision),
          [3, 4],
        );
        assert.deepEqual(
          (await store.readStream('s-1', { direction: 'backwards' })).map((e) => e.revision),
          [4, 3],
        );
        await store.append('s-1', events(1));
        assert.deepEqual(
          (await store.readStream('s-1')).map((e) => e.revision),
          [4, 5],
        );
      });

      test('truncateBefore hides earlier revisions', async (store) => {
        await store.append('s-1', events(5));
        await store.setMetadata('s-1', { truncateBefore: 3 });
        assert.deepEqual(
          (await store.readStream('s-1')).map((e) => e.revision),
          [3, 4],
        );
        assert.deepEqual(
          (await store.readStream('s-1', { from: 0, limit: 1 })).map((e) => e.revision),
          [3],
        );
      });

      test('maxAgeSeconds hides old events', async (store) => {
        await store.append('s-1', events(2));
        await store.setMetadata('s-1', { maxAgeSeconds: 1 });
        assert.equal((await store.readStream('s-1')).length, 2);
        await sleep(1100);
        await store.append('s-1', events(1));
        assert.deepEqual(
          (await store.readStream('s-1')).map((e) => e.revision),
          [2],
        );
      });

      test('survives a soft delete', async (store) => {
        await store.append('s-1', events(1));
        await store.setMetadata('s-1', { custom: { kept: true } });
        await store.deleteStream('s-1');
        assert.deepEqual(await store.getMetadata('s-1'), { custom: { kept: true } });
      });
    });

    describe('subscriptions', () => {
      const describeMessage = (message: SubscriptionMessage) =>
        isEvent(message) ? `${message.stream}@${message.revision}` : isCaughtUp(message) ? 'caught-up' : 'checkpoint';

      test('deliver history, then caught-up, then live events', async (store) => {
        await store.append('a-1', events(2));
        const subscription = store.subscribe();
        const iterator = subscription[Symbol.asyncIterator]();
        const first = await Promise.all([iterator.next(), iterator.next(), iterator.next()]);
        assert.deepEqual(
          first.map((r) => describeMessage(r.value as SubscriptionMessage)),
          ['a-1@0', 'a-1@1', 'caught-up'],
        );
        const live = iterator.next();
        await store.append('b-1', events(1));
        assert.equal(describeMessage((await live).value as SubscriptionMessage), 'b-1@0');
        await subscription.close();
        assert.equal((await iterator.next()).done, true);
      });

      test('start after the given position', async (store) => {
        await store.append('a-1', events(3));
        const all = await store.readAll();
        const subscription = store.subscribe({ from: all[0]!.position });
        const messages = await take(subscription, 3);
        await subscription.close();
        assert.deepEqual(messages.map(describeMessage), ['a-1@1', 'a-1@2', 'caught-up']);
      });

      test('from the end deliver only new events', async (store) => {
        await store.append('a-1', events(3));
        const subscription = store.subscribe({ from: 'end' });
        const { messages, caughtUp } = takeLive(subscription, 2);
        await caughtUp;
        await store.append('a-1', events(1));
        assert.deepEqual((await messages).map(describeMessage), ['caught-up', 'a-1@3']);
        await subscription.close();
      });

      test('of a stream from the end deliver only its new events', async (store) => {
        await store.append('a-1', events(2));
        const subscription = store.subscribe({ stream: 'a-1', from: 'end' });
        const { messages, caughtUp } = takeLive(subscription, 2);
        await caughtUp;
        await store.append('b-1', events(1));
        await store.append('a-1', events(1));
        assert.deepEqual((await messages).map(describeMessage), ['caught-up', 'a-1@2']);
        await subscription.close();
      });

      test('with a filter by streams, from a position, deliver those streams only', async (store) => {
        await store.append('a-1', events(2));
        await store.append('b-1', events(1));
        const [first] = await store.readAll({ limit: 1 });
        const subscription = store.subscribe({ filter: { streams: ['a-1', 'c-1'] }, from: first!.position });
        const { messages, caughtUp } = takeLive(subscription, 3);
        await caughtUp;
        await store.append('b-1', events(1));
        await store.append('c-1', events(1));
        assert.deepEqual((await messages).map(describeMessage), ['a-1@1', 'caught-up', 'c-1@0']);
        await subscription.close();
      });

      test('of a stream deliver that stream only, after the given revision', async (store) => {
        await store.append('a-1', events(3));
        await store.append('b-1', events(1));
        const subscription = store.subscribe({ stream: 'a-1', from: 0 });
        const { messages, caughtUp } = takeLive(subscription, 4);
        await caughtUp;
        await store.append('b-1', events(1));
        await store.append('a-1', events(1));
        assert.deepEqual((await messages).map(describeMessage), ['a-1@1', 'a-1@2', 'caught-up', 'a-1@3']);
        await subscription.close();
      });

      test('of a category and a filter deliver matching events only', async (store) => {
        await store.append('order-1', [event('Placed')]);
        await store.append('user-1', [event('Placed')]);
        const byCategory = store.subscribe({ category: 'order' });
        const byType = store.subscribe({ filter: { types: ['Shipped'] } });
        const { messages: categoryMessages, caughtUp: categoryCaughtUp } = takeLive(byCategory, 3);
        const { messages: typeMessages, caughtUp: typeCaughtUp } = takeLive(byType, 2);
        await Promise.all([categoryCaughtUp, typeCaughtUp]);
        await store.append('user-2', [event('Shipped')]);
        await store.append('order-2', [event('Placed')]);
        assert.deepEqual((await categoryMessages).map(describeMessage), ['order-1@0', 'caught-up', 'order-2@0']);
        assert.deepEqual((await typeMessages).map(describeMessage), ['caught-up', 'user-2@0']);
        await byCategory.close();
        await byType.close();
      });

      test('deliver a long history in order, then keep up with concurrent writers', async (store) => {
        for (let i = 0; i < 5; i++) await store.append(`h-${i}`, events(500));
        const subscription = store.subscribe();
        const writers = Promise.all(Array.from({ length: 5 }, (_, i) => store.append(`live-${i}`, events(10))));
        const messages = (await take(subscription, 2551)).filter((m) => !isCaughtUp(m)) as RecordedEvent[];
        await writers;
        await subscription.close();
        assert.equal(messages.length, 2550);
        for (let i = 1; i < messages.length; i++) assert.ok(messages[i]!.position > messages[i - 1]!.position);
      });

      test('with checkpoints, report the position examined while nothing matches', async (store) => {
        const subscription = store.subscribe({ filter: { types: ['Rare'] }, checkpoints: true });
        const iterator = subscription[Symbol.asyncIterator]();
        assert.ok(isCaughtUp((await iterator.next()).value as SubscriptionMessage));
        const { position } = await store.append('noise-1', events(3));
        const message = (await iterator.next()).value as SubscriptionMessage;
        assert.ok(isCheckpoint(message), describeMessage(message));
        assert.equal(message.checkpoint, position);
        await store.append('rare-1', [event('Rare')]);
        assert.equal(describeMessage((await iterator.next()).value as SubscriptionMessage), 'rare-1@0');
        await subscription.close();
      });

      test('of a tombstoned stream fail with stream_deleted', async (store) => {
        await store.append('s-1', events(1));
        await store.tombstoneStream('s-1');
        await rejectsWith(take(store.subscribe({ stream: 's-1' }), 1), 'stream_deleted');
      });

      test('end when closed', async (store) => {
        const subscription = store.subscribe();
        const iterator = subscription[Symbol.asyncIterator]();
        // Closed once live (not after a fixed time, which a loaded machine may not reach caught-up in).
        assert.ok(isCaughtUp((await iterator.next()).value as SubscriptionMessage));
        const pending = iterator.next();
        await sleep(20);
        await subscription.close();
        assert.equal((await pending).done, true);
      });
    });

    describe('bad input writes nothing', () => {
      const badStreamNames: unknown[] = [
        '',
        'x'.repeat(256),
        'ü'.repeat(128),
        'a\u0000b',
        'line\nbreak',
        'tab\t',
        'del\u007f',
        '\ud800',
        42,
        null,
        undefined,
      ];
      test('invalid stream names', async (store) => {
        for (const name of badStreamNames) {
          await rejectsWith(store.append(name as string, events(1)), 'invalid_argument');
          await rejectsWith(store.readStream(name as string), 'invalid_argument');
        }
        await nothingWritten(store);
      });

      test('writes to $-streams, which belong to the system', async (store) => {
        await rejectsWith(store.append('$all', events(1)), 'invalid_argument');
        await rejectsWith(store.append('$settings', events(1)), 'invalid_argument');
        await rejectsWith(store.setMetadata('$settings', {}), 'invalid_argument');
        await nothingWritten(store);
      });

      test('empty, malformed and non-JSON events', async (store) => {
        const cyclic: Record<string, unknown> = {};
        cyclic.self = cyclic;
        const bad: unknown[] = [
          [],
          'not an array',
          [null],
          [{}],
          [{ type: 'A' }],
          [{ type: '', data: {} }],
          [{ type: 'x'.repeat(256), data: {} }],
          [{ type: 7, data: {} }],
          [{ type: 'A', data: {}, surprise: 1 }],
          [{ type: 'A', data: {}, id: 'not-a-uuid' }],
          [{ type: 'A', data: {}, metadata: [] }],
          [{ type: 'A', data: {}, metadata: 'text' }],
          [{ type: 'A', data: Number.NaN }],
          [{ type: 'A', data: { value: Infinity } }],
          [{ type: 'A', data: { when: new Date() } }],
          [{ type: 'A', data: { big: 1n } }],
          [{ type: 'A', data: { fn: () => 1 } }],
          [{ type: 'A', data: { missing: undefined } }],
          [{ type: 'A', data: cyclic }],
          [{ type: 'A', data: new Map() }],
        ];
        for (const batch of bad) await rejectsWith(store.append('s-1', batch as never), 'invalid_argument');
        const id = randomUUID();
        await rejectsWith(store.append('s-1', [event('A', {}, { id }), event('B', {}, { id })]), 'invalid_argument');
        await nothingWritten(store);
      });

      test('oversized events and appends', async (store) => {
        const big = 'x'.repeat(1024 * 1024);
        await rejectsWith(store.append('s-1', [event('Big', big)]), 'payload_too_large');
        await rejectsWith(store.append('s-1', events(10_001)), 'payload_too_large');
        const nearlyMiB = 'x'.repeat(1024 * 1024 - 100);
        await rejectsWith(
          store.append(
            's-1',
            Array.from({ length: 17 }, () => event('Big', nearlyMiB)),
          ),
          'payload_too_large',
        );
        await nothingWritten(store);
      });

      test('unknown expected revision forms', async (store) => {
        for (const expectedRevision of [-1, 1.5, 'latest', '3', null, {}, Number.NaN, 2 ** 53]) {
          await rejectsWith(store.append('s-1', events(1), { expectedRevision: expectedRevision as never }), 'invalid_argument');
        }
        await nothingWritten(store);
      });

      test('invalid read options', async (store) => {
        const badStream: unknown[] = [
          { limit: 0 },
          { limit: -1 },
          { limit: 1.5 },
          { from: -1 },
          { from: 'middle' },
          { direction: 'up' },
          { surprise: 1 },
        ];
        for (const options of badStream) await rejectsWith(store.readStream('s-1', options as never), 'invalid_argument');
        const badAll: unknown[] = [
          { from: -1n },
          { from: 'x' },
          { limit: 0 },
          { filter: { types: [] } },
          { filter: { category: 'a-b' } },
          { filter: { streams: [''] } },
          { filter: { other: 1 } },
        ];
        for (const options of badAll) await rejectsWith(store.readAll(options as never), 'invalid_argument');
      });

      test('invalid stream metadata', async (store) => {
        const bad: unknown[] = [
          { maxCount: 0 },
          { maxCount: 1.5 },
          { maxAgeSeconds: -1 },
          { truncateBefore: 'x' },
          { acl: { read: 'all' } },
          { custom: [] },
          { other: 1 },
          null,
        ];
        const badAcls: [unknown, RegExp][] = [
          [{ read: ['alice'] }, /acl\.read must be \{ tokens\?: \[\.\.\.\], roles\?: \[\.\.\.\] \}/],
          [{ read: { roles: ['root'] } }, /acl\.read\.roles\[0\] is "root"; allowed: 'reader', 'writer', 'admin'/],
          [{ read: { names: ['alice'] } }, /acl\.read has unknown field 'names'/],
          [{ delete: { roles: ['writer'] } }, /acl\.delete cannot take effect/],
          [{ metaWrite: { tokens: ['alice'] } }, /acl\.metaWrite cannot take effect/],
          [{ write: { tokens: [''] } }, /acl\.write\.tokens\[0\]/],
        ];
        for (const [acl, message] of badAcls) {
          const error = await rejectsWith(store.setMetadata('s-1', { acl } as never), 'invalid_argument');
          assert.match(error.message, message);
        }
        for (const metadata of bad) await rejectsWith(store.setMetadata('s-1', metadata as never), 'invalid_argument');
        assert.deepEqual(await store.getMetadata('s-1'), {});
      });
    });

    describe('store', () => {
      test('reports statistics', async (store) => {
        const { disk, ...empty } = await store.stats();
        assert.deepEqual(
          { ...empty, engine: '', storeId: '' },
          { engine: '', events: 0, streams: 0, headPosition: 0n, storeId: '', epoch: 1, epochStart: 0n },
        );
        assert.ok(Number.isSafeInteger(disk.usedBytes) && disk.usedBytes >= 0);
        assert.match(empty.storeId, uuidPattern);
        const result = await store.append('a-1', events(2));
        await store.append('b-1', events(1));
        const stats = await store.stats();
        assert.deepEqual([stats.events, stats.streams], [3, 2]);
        assert.ok(stats.headPosition > result.position);
      });

      test('probes for writes without writing', async (store) => {
        await store.append('a-1', events(1));
        await store.probeWrite();
        const stats = await store.stats();
        assert.deepEqual([stats.events, stats.streams], [1, 1]);
        assert.deepEqual(
          (await store.listStreams()).map((info) => info.stream),
          ['a-1'],
        );
      });

      it('refuses calls once closed', async () => {
        const store = await openStore();
        await store.close();
        await rejectsWith(store.append('s-1', events(1)), 'unavailable');
        await rejectsWith(store.readAll(), 'unavailable');
        await store.close();
      });
    });

    describeModelComparison(name, openStore);
    describeCopying(openStore);
  });
};
