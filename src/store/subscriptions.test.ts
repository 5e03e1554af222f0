/**
 * What subscriptions cost: a filter that rarely matches reads only what is new, idle subscribers of other
 * streams read nothing when an append does not concern them, live subscribers share one read of new
 * events, and a subscriber too slow to keep up reads the log itself and still misses nothing.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { collect, events, take } from './conformance/harness.js';
import { createEventStore } from './create-store.js';
import type { EngineCore } from './engine.js';
import { createMemoryEngine } from '../engines/memory/engine.js';
import { isCaughtUp, isCheckpoint, isEvent, type RecordedEvent, type SubscriptionMessage } from './model.js';
import { checkpointIntervalMs, scanWindow } from './subscriptions.js';
import { maxPosition, type AllQuery } from './validate.js';
import { until } from '../testing/until.js';

/** The memory engine, counting the reads the store makes of it. */
const countingStore = () => {
  const engine = createMemoryEngine();
  const reads = { all: [] as AllQuery[], streams: [] as string[] };
  const counted: EngineCore = {
    ...engine,
    changes: engine.changes,
    readAll: (query) => {
      reads.all.push(query);
      return engine.readAll(query);
    },
    readStream: (stream, query) => {
      reads.streams.push(stream);
      return engine.readStream(stream, query);
    },
  };
  return { store: createEventStore(counted), reads };
};

/** Positions a read may have examined: its range, or everything when it has no upper bound. */
const scanned = (query: AllQuery) => (query.to === undefined ? Infinity : Number(query.to - query.from + 1n));

/** Waits until `condition` holds, polling; fails after a generous bound. */

const caughtUp = async (iterator: AsyncIterator<SubscriptionMessage>) => {
  for (;;) {
    const { value } = await iterator.next();
    if (isCaughtUp(value as SubscriptionMessage)) return;
  }
};

describe('subscription costs', () => {
  it('a filter that rarely matches never rescans the log: live reads cover only new positions', async () => {
    const { store, reads } = countingStore();
    for (let i = 0; i < 5; i++) await store.append(`noise-${i}`, events(5000));
    const rare = store.subscribe({ filter: { types: ['Rare'] } })[Symbol.asyncIterator]();
    await caughtUp(rare);
    // History was scanned in windows, never in one unbounded read.
    assert.ok(
      reads.all.every((query) => scanned(query) <= Number(scanWindow)),
      'every read is bounded',
    );

    reads.all.length = 0;
    for (let i = 0; i < 200; i++) await store.append(`noise-${i % 7}`, events(1));
    await store.append('rare-1', [{ type: 'Rare', data: {} }]);
    const delivered = (await rare.next()).value as RecordedEvent;
    assert.equal(delivered.stream, 'rare-1');
    const examined = reads.all.reduce((sum, query) => sum + scanned(query), 0);
    assert.ok(examined <= 201, `live reads examined ${examined} positions for 201 new events`);
    await rare.return?.(undefined);
    await store.close();
  });

  it('idle subscribers of other streams cost no read per append, and live subscribers share one read', async () => {
    const { store, reads } = countingStore();
    const idle = Array.from({ length: 2000 }, (_, i) => store.subscribe({ stream: `idle-${i}` })[Symbol.asyncIterator]());
    for (const subscription of idle) await caughtUp(subscription);
    const everything = Array.from({ length: 20 }, () => store.subscribe()[Symbol.asyncIterator]());
    for (const subscription of everything) await caughtUp(subscription);

    reads.all.length = 0;
    reads.streams.length = 0;
    for (let i = 0; i < 50; i++) {
      await store.append('busy-1', events(1));
      const received = await Promise.all(everything.map(async (subscription) => (await subscription.next()).value as RecordedEvent));
      assert.ok(received.every((event) => event.revision === i));
    }
    assert.equal(reads.streams.length, 0, 'no idle subscriber read its stream');
    assert.ok(reads.all.length <= 50, `${reads.all.length} reads of $all for 50 appends and 20 live subscribers`);

    // The one that concerns an idle subscriber wakes it alone.
    const next = idle[7]!.next();
    await store.append('idle-7', events(1));
    assert.equal(((await next).value as RecordedEvent).stream, 'idle-7');
    assert.deepEqual([...new Set(reads.streams)], ['idle-7']);
    await store.close();
  });

  it('a subscriber of a rare category costs the live tail a read of that category only, however busy the log', async () => {
    const { store, reads } = countingStore();
    const rare = store.subscribe({ category: 'rare' })[Symbol.asyncIterator]();
    await caughtUp(rare);
    reads.all.length = 0;
    for (let i = 0; i < 50; i++) await store.append(`noise-${i % 7}`, events(20));
    await store.append('rare-1', events(1));
    assert.equal(((await rare.next()).value as RecordedEvent).stream, 'rare-1');
    assert.ok(reads.all.length > 0);
    for (const query of reads.all) assert.deepEqual(query.filter, { streams: ['rare'] });

    // An unfiltered subscriber widens the tail's reads from then on, and misses nothing meanwhile.
    const everything = store.subscribe({ from: 'end' })[Symbol.asyncIterator]();
    await caughtUp(everything);
    await store.append('noise-1', events(1));
    assert.equal(((await everything.next()).value as RecordedEvent).stream, 'noise-1');
    assert.equal(reads.all.at(-1)!.filter, undefined);
    await store.close();
  });

  it('subscribers of a few rare types cost the live tail one read of those types only', async () => {
    const { store, reads } = countingStore();
    const first = store.subscribe({ filter: { types: ['RareA'] } })[Symbol.asyncIterator]();
    const second = store.subscribe({ filter: { types: ['RareB', 'RareA'] } })[Symbol.asyncIterator]();
    await caughtUp(first);
    await caughtUp(second);
    reads.all.length = 0;
    for (let i = 0; i < 20; i++) await store.append(`noise-${i % 7}`, events(20));
    await store.append('rare-1', events(1, 'RareB'));
    assert.equal(((await second.next()).value as RecordedEvent).type, 'RareB');
    for (const query of reads.all) assert.deepEqual([...(query.filter?.types ?? [])].sort(), ['RareA', 'RareB']);
    await store.append('rare-1', events(1, 'RareA'));
    assert.equal(((await first.next()).value as RecordedEvent).type, 'RareA');
    assert.equal(((await second.next()).value as RecordedEvent).type, 'RareA');
    await store.close();
  });

  it('gives each subscriber its own copy of a shared event', async () => {
    const { store } = countingStore();
    const first = store.subscribe()[Symbol.asyncIterator]();
    const second = store.subscribe()[Symbol.asyncIterator]();
    await caughtUp(first);
    await caughtUp(second);
    await store.append('a-1', [{ type: 'E', data: { n: 1 } }]);
    const one = (await first.next()).value as RecordedEvent<{ n: number }>;
    one.data.n = 2;
    const other = (await second.next()).value as RecordedEvent<{ n: number }>;
    assert.equal(other.data.n, 1);
    await store.close();
  });

  it('a subscriber too slow for the live tail reads at its own pace and misses nothing', async () => {
    const { store } = countingStore();
    const subscription = store.subscribe({ category: 'load' });
    const iterator = subscription[Symbol.asyncIterator]();
    await caughtUp(iterator);
    // Nobody consumes while far more than a page of events arrives.
    for (let i = 0; i < 30; i++) await store.append(`load-${i % 3}`, events(100));
    await store.append('other-1', events(10));
    const received = (await take({ [Symbol.asyncIterator]: () => iterator }, 3000)) as RecordedEvent[];
    assert.equal(received.length, 3000);
    for (let i = 1; i < received.length; i++) assert.ok(received[i]!.position > received[i - 1]!.position);
    assert.ok(received.every((event) => event.stream.startsWith('load-')));
    await subscription.close();
    await store.close();
  });

  it('reports checkpoints past events that do not match, when asked', async () => {
    const { store } = countingStore();
    const subscription = store.subscribe({ filter: { types: ['Rare'] }, checkpoints: true });
    const iterator = subscription[Symbol.asyncIterator]();
    await caughtUp(iterator);
    const { position } = await store.append('noise-1', events(3));
    const started = Date.now();
    const message = (await iterator.next()).value as SubscriptionMessage;
    assert.ok(isCheckpoint(message), 'a checkpoint, not an event');
    assert.equal(message.checkpoint, position);
    assert.ok(Date.now() - started >= checkpointIntervalMs - 50, 'checkpoints are not sent more than once a second');
    const plain = store.subscribe({ filter: { types: ['Rare'] } })[Symbol.asyncIterator]();
    await caughtUp(plain);
    const next = plain.next();
    await store.append('rare-1', [{ type: 'Rare', data: {} }]);
    assert.ok(isEvent((await next).value as SubscriptionMessage), 'no checkpoints unless asked');
    await subscription.close();
    await store.close();
  });

  it('a subscription from a position beyond the head is a conflict, and others go on', async () => {
    const { store } = countingStore();
    await store.append('a-1', events(2));
    await assert.rejects(collect(store.subscribe({ from: maxPosition })), { code: 'conflict' });
    const other = store.subscribe({ from: 'end' })[Symbol.asyncIterator]();
    await caughtUp(other);
    const live = other.next();
    await store.append('b-1', events(1));
    assert.equal(((await live).value as RecordedEvent).stream, 'b-1');
    await store.close();
  });

  it('subscribers that attach and leave while writers race each see exactly their part of the log', async () => {
    const { store } = countingStore();
    const writers = Promise.all(
      Array.from({ length: 4 }, async (_, writer) => {
        for (let i = 0; i < 60; i++)
          await store.append(`${['order', 'user', 'audit'][i % 3]}-${writer}`, events(1 + (i % 4), i % 5 === 0 ? 'Rare' : 'Common'));
      }),
    );
    const filters = [undefined, { category: 'order' }, { types: ['Rare'] }, { streams: ['user-1', 'audit-'] }];
    await Promise.all(
      Array.from({ length: 24 }, async (_, index) => {
        await sleep(index * 3);
        const filter = filters[index % filters.length];
        const received: RecordedEvent[] = [];
        const subscription = store.subscribe({ filter });
        const collecting = (async () => {
          for await (const message of subscription) if (isEvent(message)) received.push(message);
        })();
        await writers;
        const expected = (await store.readAll({ filter })).map((event) => event.id);
        await until(() => received.length >= expected.length, `${expected.length} events for ${JSON.stringify(filter)}`);
        await subscription.close();
        await collecting;
        assert.deepEqual(
          received.map((event) => event.id),
          expected,
          JSON.stringify(filter),
        );
      }),
    );
    await store.close();
  });
});
