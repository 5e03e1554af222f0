/**
 * Upcasting (DESIGN.md section 8) on a real store: events written in old shapes by a store without
 * upcasters come out in today's shape from one with them, on every read and every delivery, and filters by
 * today's type find the old events.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import type { EventStore } from '../event-store.js';
import { isCaughtUp, isEvent, type RecordedEvent, type SubscriptionMessage } from '../model.js';
import { UpcastError, type Upcasters } from '../upcasting.js';
import { collect, event } from './harness.js';

/**
 * A store without upcasters (`writer`) and, once the history is written, one over the same log that reads
 * through `upcasters` (`reader()`; on SQLite, where one process at a time has a file, it closes the writer).
 */
export type OpenUpcastingStores = (
  upcasters: Upcasters,
) => Promise<{ writer: EventStore; reader(): Promise<EventStore>; close(): Promise<void> }>;

interface Stores {
  writer: EventStore;
  reader(): Promise<EventStore>;
}

const upcasters: Upcasters = {
  'Placed.v1': (event) => ({ type: 'Placed.v2', data: { ...(event.data as object), currency: 'EUR' } }),
  'Placed.v2': (event) => ({ type: 'Placed.v3', data: { order: event.data }, metadata: { ...event.metadata, upcast: true } }),
  'Noted.v1': (event) => ({ type: 'Noted.v2', data: event.data }),
};

const today = { order: { total: 5, currency: 'EUR' } };

const nextEvents = async (messages: AsyncIterator<SubscriptionMessage>, count: number) => {
  const events: RecordedEvent[] = [];
  while (events.length < count) {
    const { value, done } = await messages.next();
    assert.equal(done, false);
    if (isEvent(value)) events.push(value);
  }
  return events;
};

export const describeUpcasting = (name: string, open: OpenUpcastingStores): void => {
  const test = (title: string, body: (stores: Stores) => Promise<void>, with_ = upcasters) =>
    void it(title, async () => {
      const stores = await open(with_);
      try {
        await body(stores);
      } finally {
        await stores.close();
      }
    });

  /** order-1: the three shapes of Placed, then an event without an upcaster; note-1: a type nobody asks for. */
  const writeHistory = async (writer: EventStore) => {
    await writer.append('order-1', [
      event('Placed.v1', { total: 5 }, { metadata: { by: 'ada' } }),
      event('Placed.v2', { total: 5, currency: 'EUR' }),
      event('Placed.v3', today),
      event('Shipped', { to: 'Paris' }),
    ]);
    await writer.append('note-1', [event('Noted.v1', { text: 'hi' })]);
    return writer.readAll();
  };

  describe(`upcasting: ${name}`, () => {
    test('every read returns events upcast, with id, stream, revision, position and time unchanged', async (stores) => {
      const stored = await writeHistory(stores.writer);
      const reader = await stores.reader();
      const expected = [
        { ...stored[0]!, type: 'Placed.v3', data: today, metadata: { by: 'ada', upcast: true } },
        { ...stored[1]!, type: 'Placed.v3', data: today, metadata: { upcast: true } },
        stored[2]!,
        stored[3]!,
      ];
      assert.deepEqual(await reader.readStream('order-1'), expected);
      assert.deepEqual(await collect(reader.iterateStream('order-1')), expected);
      assert.deepEqual(await reader.readStream('order-1', { direction: 'backwards', limit: 2 }), [expected[3], expected[2]]);
      assert.deepEqual(await reader.readEvent(stored[0]!.id), expected[0]);
      const all = [...expected, { ...stored[4]!, type: 'Noted.v2' }];
      assert.deepEqual(await reader.readAll(), all);
      assert.deepEqual(await collect(reader.iterateAll()), all);
    });

    test('a filter by today’s type finds the old events, and only they come out', async (stores) => {
      const stored = await writeHistory(stores.writer);
      const reader = await stores.reader();
      const placed = (await reader.readStream('order-1')).slice(0, 3);
      assert.deepEqual(await reader.readAll({ filter: { types: ['Placed.v3'] } }), placed);
      assert.deepEqual(await collect(reader.iterateAll({ filter: { types: ['Placed.v3'] } })), placed);
      assert.deepEqual(await reader.readAll({ filter: { types: ['Placed.v3'] }, limit: 2 }), placed.slice(0, 2));
      assert.deepEqual(await reader.readAll({ filter: { types: ['Placed.v3'] }, direction: 'backwards', limit: 2 }), [
        placed[2],
        placed[1],
      ]);
      assert.deepEqual(await collect(reader.iterateAll({ filter: { types: ['Placed.v3'] }, limit: 1 })), placed.slice(0, 1));
      assert.deepEqual(
        (await reader.readAll({ filter: { types: ['Placed.v3', 'Shipped'], category: 'order' } })).map((e) => e.type),
        ['Placed.v3', 'Placed.v3', 'Placed.v3', 'Shipped'],
      );
      // An old type asked for finds nothing: its events come out in today's shape.
      assert.deepEqual(await reader.readAll({ filter: { types: ['Placed.v1'] } }), []);
      assert.deepEqual(await reader.readAll({ filter: { types: ['Noted.v2'] } }), [{ ...stored[4]!, type: 'Noted.v2' }]);
    });

    test('subscriptions deliver history and live events upcast, filtered by today’s types', async (stores) => {
      await writeHistory(stores.writer);
      const reader = await stores.reader();
      const subscription = reader.subscribe({ filter: { types: ['Placed.v3'] } });
      const messages = subscription[Symbol.asyncIterator]();
      try {
        const history = await nextEvents(messages, 3);
        assert.deepEqual(
          history.map((e) => [e.type, e.revision]),
          [
            ['Placed.v3', 0],
            ['Placed.v3', 1],
            ['Placed.v3', 2],
          ],
        );
        assert.ok(isCaughtUp((await messages.next()).value as SubscriptionMessage));
        // Live appends through the reader: appends are never upcast, and a store hears its own appends at once.
        await reader.append('order-2', [event('Noted.v1', { text: 'skip me' }), event('Placed.v1', { total: 5 })]);
        const [live] = await nextEvents(messages, 1);
        assert.deepEqual([live!.stream, live!.revision, live!.type, live!.data], ['order-2', 1, 'Placed.v3', today]);
      } finally {
        await subscription.close();
      }
      const stream = reader.subscribe({ stream: 'order-1' });
      try {
        assert.deepEqual(
          (await nextEvents(stream[Symbol.asyncIterator](), 4)).map((e) => e.type),
          ['Placed.v3', 'Placed.v3', 'Placed.v3', 'Shipped'],
        );
      } finally {
        await stream.close();
      }
    });

    test('consumer groups deliver upcast events, and a source filtered by today’s type gets the old ones', async (stores) => {
      await writeHistory(stores.writer);
      const reader = await stores.reader();
      await reader.groups.create('placed', { source: { filter: { types: ['Placed.v3'] } } });
      // Created the same way again, it compares equal: the types widen the same way every time.
      assert.equal((await reader.groups.create('placed', { source: { filter: { types: ['Placed.v3'] } } })).created, false);
      const deliveries = await reader.groups.pull('placed', { consumer: 'c1', max: 10 });
      assert.deepEqual(
        deliveries.map((d) => [d.event.type, d.event.revision, d.event.data]),
        [
          ['Placed.v3', 0, today],
          ['Placed.v3', 1, today],
          ['Placed.v3', 2, today],
        ],
      );
      await reader.groups.ack(
        'placed',
        deliveries.map((d) => d.id),
      );
      // note-1's Noted.v1 was read for the widened filter, upcast to a type the group does not keep, and acked.
      const info = await reader.groups.info('placed');
      assert.equal(info.pending, 0);
      assert.equal(info.parked, 0);

      await reader.groups.create('all', {});
      const seen: RecordedEvent[] = [];
      const consumer = reader.groups.consume(
        'all',
        (event) => {
          seen.push(event);
        },
        { consumer: 'c1' },
      );
      try {
        while (seen.length < 5) await new Promise((resolve) => setTimeout(resolve, 10));
      } finally {
        await consumer.close();
      }
      assert.deepEqual(seen.map((e) => e.type).sort(), ['Noted.v2', 'Placed.v3', 'Placed.v3', 'Placed.v3', 'Shipped']);
    });

    test(
      'an upcaster that fails is an UpcastError naming the event; a group parks the event with it as the reason',
      async (stores) => {
        const bad = { id: randomUUID() };
        await stores.writer.append('order-1', [
          event('Placed.v3', today),
          event('Placed.v1', { total: 5 }, bad),
          event('Placed.v3', today),
        ]);
        const reader = await stores.reader();
        const naming = (error: unknown) =>
          error instanceof UpcastError &&
          error.message.includes(`failed on event ${bad.id} (stored type 'Placed.v1', stream 'order-1', revision 1): no total`);
        await assert.rejects(reader.readStream('order-1'), naming);
        await assert.rejects(reader.readEvent(bad.id), naming);
        await assert.rejects(collect(reader.subscribe({})), naming);

        await reader.groups.create('placed', { source: { stream: 'order-1' } });
        const delivered = await reader.groups.pull('placed', { consumer: 'c1', max: 10 });
        assert.deepEqual(
          delivered.map((d) => d.event.revision),
          [0, 2],
        );
        const { parked } = await reader.groups.parked('placed');
        assert.equal(parked.length, 1);
        assert.equal(parked[0]!.event.id, bad.id);
        assert.equal(parked[0]!.event.type, 'Placed.v1', 'shown as stored, so that it can be inspected');
        assert.match(parked[0]!.reason, /upcaster of type 'Placed\.v1' failed on event/);
      },
      {
        'Placed.v1': () => {
          throw new Error('no total');
        },
      },
    );
  });
};
