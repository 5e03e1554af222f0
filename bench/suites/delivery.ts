/**
 * How fast subscriptions deliver, each figure beside the layer underneath in the same run:
 * - append-to-subscriber latency at a steady 1,000 single-event appends a second (an open loop on a
 *   timer), embedded on SQLite and over SSE from a server in another process, beside the append itself;
 * - 1,000 live SSE subscribers in one server process at 1,000 events a second (each subscriber, on a
 *   stream or a category of its own, hears its share): delivery p99 and the server's CPU, beside the
 *   same appends with no subscriber;
 * - a subscription to a rare category while a million other events are appended in batches: the append
 *   rate beside the same appends without it, and how soon its rare events reach it;
 * - catch-up of a million events through `subscribe()` beside `iterateAll` over the same events.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from '../../src/client/index.js';
import { openEventStore } from '../../src/engines/open.js';
import type { EventStore } from '../../src/store/event-store.js';
import { isCaughtUp, isEvent, type Subscription, type SubscriptionMessage } from '../../src/store/model.js';
import { cpuSecondsOf, spawnScript, withServer } from '../http/processes.js';
import { percentile, perSecond, timed, type BenchContext, type BenchSuite, type Measurement } from '../harness.js';
import { eventOf, paced, scaled } from '../workload.js';

const rate = 1000;
const subscribersScript = fileURLToPath(new URL('../http/subscribers.ts', import.meta.url));

/** Waits for the end of history, then calls `arrived` with each event's `data.index` as it comes. */
const follow = async (subscription: Subscription, arrived: (index: number) => void) => {
  const messages = subscription[Symbol.asyncIterator]();
  while (!isCaughtUp((await messages.next()).value as SubscriptionMessage));
  void (async () => {
    for (let next = await messages.next(); !next.done; next = await messages.next()) {
      if (isEvent(next.value)) arrived((next.value.data as { index: number }).index);
    }
  })();
};

/**
 * `count` single-event appends at 1,000 a second through `writer`, each heard by a `$all` subscriber on
 * `reader`: latencies from the call of the append to its arrival, and of the append alone; and from the
 * append's acknowledgement to the arrival (what the subscription adds, negative when it comes first).
 */
const appendToSubscriber = async (writer: EventStore, reader: EventStore, count: number) => {
  const sentAt: number[] = [];
  const arrivedAt: number[] = [];
  const ackedAt: number[] = [];
  const deliveries: number[] = [];
  const appends: number[] = [];
  let allArrived: () => void = () => undefined;
  const arrivedAll = new Promise<void>((resolve) => (allArrived = resolve));
  const subscription = reader.subscribe({ from: 'end' });
  await follow(subscription, (index) => {
    arrivedAt[index] = performance.now();
    deliveries.push(arrivedAt[index] - sentAt[index]!);
    if (deliveries.length === count) allArrived();
  });
  await paced(count, rate, async (index) => {
    const start = (sentAt[index] = performance.now());
    await writer.append(`tick-${index % 100}`, [eventOf(index)]);
    ackedAt[index] = performance.now();
    appends.push(ackedAt[index] - start);
  });
  await arrivedAll;
  await subscription.close();
  return { deliveries, appends, afterAck: arrivedAt.map((at, index) => at - ackedAt[index]!) };
};

const latencyRows = (
  where: string,
  limitName: string,
  figures: { deliveries: number[]; appends: number[]; afterAck: number[] },
  targets: [string?, string?],
) =>
  ([50, 99] as const).map((p, index): Measurement => ({
    name: `${where}: append-to-subscriber latency p${p}, 1,000 ev/s`,
    unit: 'ms',
    value: percentile(figures.deliveries, p),
    limit: { name: `${limitName}, p${p}`, value: percentile(figures.appends, p) },
    ...(targets[index] === undefined ? {} : { target: targets[index] }),
    details: { samples: figures.deliveries.length, [`afterAckP${p}Ms`]: percentile(figures.afterAck, p) },
  }));

const embeddedLatency = async (context: BenchContext, count: number) => {
  context.progress(`embedded: ${count.toLocaleString('en-US')} appends at 1,000/s to a $all subscriber`);
  const store = await openEventStore({ engine: 'sqlite', path: join(context.tempDir(), 'latency.db'), durability: 'fsync' });
  try {
    await appendToSubscriber(store, store, Math.min(count, 200));
    return latencyRows('SQLite', 'the append itself (SQLite, fsync)', await appendToSubscriber(store, store, count), ['<= 1', '<= 5']);
  } finally {
    await store.close();
  }
};

const sseLatency = async (context: BenchContext, count: number) => {
  context.progress(`SSE: ${count.toLocaleString('en-US')} appends at 1,000/s to a $all subscriber over loopback`);
  const token = randomBytes(32).toString('base64url');
  return withServer(['annals', join(context.tempDir(), 'sse.db'), token], async (url) => {
    const writer = connect(url, { token, connections: 16 });
    const reader = connect(url, { token });
    try {
      await appendToSubscriber(writer, reader, Math.min(count, 200));
      return latencyRows('SSE', 'the HTTP append round trip', await appendToSubscriber(writer, reader, count), [undefined, '<= 10']);
    } finally {
      await Promise.all([writer.close(), reader.close()]);
    }
  });
};

/** The server in one process, the subscribers and the writer in another; the server's CPU read from `/proc`. */
const manySubscribers = async (context: BenchContext, subscribers: number, count: number): Promise<Measurement[]> => {
  context.progress(`SSE: ${subscribers.toLocaleString('en-US')} live subscribers at 1,000 ev/s, with the same appends alone first`);
  const token = randomBytes(32).toString('base64url');
  return withServer(['annals', join(context.tempDir(), 'subscribers.db'), token], async (url, pid) => {
    const load = spawnScript(subscribersScript, [url, token, String(subscribers), String(count), String(rate)]);
    const cpu: Record<string, { at: number; seconds: number }> = {};
    let result: string | undefined;
    for (let line = await load.lines.next(); !line.done; line = await load.lines.next()) {
      if (line.value.startsWith('{')) result = line.value;
      else cpu[line.value] = { at: performance.now(), seconds: cpuSecondsOf(pid) ?? Number.NaN };
    }
    await load.exited;
    if (result === undefined) throw new Error('the subscribers process ended without figures');
    const figures = JSON.parse(result) as {
      alone: { p50: number; p99: number };
      loaded: { p50: number; p99: number };
      delivery: { p50: number; p99: number };
      delivered: number;
      expected: number;
    };
    if (figures.delivered !== figures.expected) throw new Error(`${figures.delivered} of ${figures.expected} events were delivered`);
    const cores = (from: string, to: string) => (cpu[to]!.seconds - cpu[from]!.seconds) / ((cpu[to]!.at - cpu[from]!.at) / 1000);
    const name = `SSE: ${subscribers.toLocaleString('en-US')} live subscribers, 1,000 ev/s`;
    const details: Record<string, number>[] = [
      { deliveryP50Ms: figures.delivery.p50, appendP50Ms: figures.loaded.p50, delivered: figures.delivered },
      { aloneAppendP50Ms: figures.alone.p50, aloneAppendP99Ms: figures.alone.p99 },
    ];
    return [
      {
        name: `${name}: delivery p99`,
        unit: 'ms',
        value: figures.delivery.p99,
        limit: { name: 'the HTTP append round trip under the same load, p99', value: figures.loaded.p99 },
        target: '<= 50',
        details: details[0],
      },
      {
        name: `${name}: server CPU`,
        unit: 'cores',
        value: cores('loaded', 'loaded-done'),
        limit: { name: 'server CPU for the same appends with no subscriber', value: cores('alone', 'alone-done') },
        target: '<= 1',
        details: details[1],
      },
    ] satisfies Measurement[];
  });
};

/** Appends `count` events in 100-event batches, and one `rare-1` event every 100 batches, noting in `sentAt` when each rare one was sent. */
const appendWithRare = async (store: EventStore, count: number, sentAt: number[]) => {
  for (let done = 0, batch = 0; done < count; batch++) {
    const size = Math.min(100, count - done);
    await store.append(
      `order-${batch % 100}`,
      Array.from({ length: size }, (_, i) => eventOf(done + i)),
    );
    done += size;
    if (batch % 100 === 0) {
      sentAt.push(performance.now());
      await store.append('rare-1', [eventOf(sentAt.length - 1)]);
    }
  }
};

/**
 * A rare-category subscription through a million batched appends, then a million-event catch-up through
 * `subscribe()`. The appends alternate, in rounds, between no subscription and the subscription live, so
 * that both see the same log sizes and a machine busy for a while slows both alike.
 */
const rareAndCatchUp = async (context: BenchContext, count: number): Promise<Measurement[]> => {
  const store = await openEventStore({ engine: 'sqlite', path: join(context.tempDir(), 'rare.db'), durability: 'fsync' });
  try {
    const rounds = 10;
    const chunk = Math.ceil(count / rounds);
    context.progress(
      `${(chunk * rounds).toLocaleString('en-US')} batched appends each with and without a rare-category subscription, in ${rounds} rounds`,
    );
    let aloneMs = 0;
    let withMs = 0;
    const sentAt: number[] = [];
    const rareLatencies: number[] = [];
    for (let round = 0; round < rounds; round++) {
      aloneMs += await timed(() => appendWithRare(store, chunk, []));
      const subscription = store.subscribe({ category: 'rare', from: 'end' });
      await follow(subscription, (index) => rareLatencies.push(performance.now() - sentAt[index]!));
      withMs += await timed(() => appendWithRare(store, chunk, sentAt));
      while (rareLatencies.length < sentAt.length) await new Promise((resolve) => setTimeout(resolve, 5));
      await subscription.close();
    }
    const rareAppends: number[] = [];
    for (let i = 0; i < 100; i++) rareAppends.push(await timed(() => store.append('rare-2', [eventOf(i)])));
    const log = (await store.stats()).events;
    const rareHistory = store.subscribe({ category: 'rare' });
    const rareCatchUpMs = await timed(() => follow(rareHistory, () => undefined));
    await rareHistory.close();

    context.progress(`catch-up of ${count.toLocaleString('en-US')} events through subscribe(), beside iterateAll`);
    const iterate = async () => {
      let seen = 0;
      const ms = await timed(async () => {
        for await (const event of store.iterateAll()) if (event.revision >= 0 && ++seen === count) break;
      });
      return perSecond(seen, ms);
    };
    const catchUp = async () => {
      let seen = 0;
      const through = store.subscribe();
      const ms = await timed(async () => {
        for await (const message of through) if (isEvent(message) && ++seen === count) break;
      });
      return perSecond(seen, ms);
    };
    // Each twice, in turns, keeping the best: the same pages are then equally warm for both.
    const iterated = await iterate();
    const caughtUp = await catchUp();
    const iteratedBest = Math.max(iterated, await iterate());
    const caughtUpBest = Math.max(caughtUp, await catchUp());

    const million = count.toLocaleString('en-US');
    return [
      {
        name: `SQLite: append, 100-event batches (${million} events), a rare-category subscription live`,
        unit: 'events/s',
        value: perSecond(chunk * rounds, withMs),
        limit: { name: 'the same appends with no subscription', value: perSecond(chunk * rounds, aloneMs) },
        target: '<= 1.1x limit',
        details: { rareCatchUpMs, rareCatchUpOverEvents: log },
      },
      {
        name: `SQLite: rare-category subscription latency p99, during those appends`,
        unit: 'ms',
        value: percentile(rareLatencies, 99),
        limit: { name: 'a single-event append alone, p99', value: percentile(rareAppends, 99) },
        details: { p50Ms: percentile(rareLatencies, 50), rareEvents: rareLatencies.length },
      },
      {
        name: `SQLite: catch-up of ${million} events through subscribe()`,
        unit: 'events/s',
        value: caughtUpBest,
        limit: { name: 'iterateAll over the same events', value: iteratedBest },
        target: '<= 1.2x limit',
      },
    ];
  } finally {
    await store.close();
  }
};

export const suite: BenchSuite = {
  name: 'delivery',
  async run(context) {
    const samples = scaled(context, 10_000, 50);
    return [
      ...(await embeddedLatency(context, samples)),
      ...(await sseLatency(context, samples)),
      ...(await manySubscribers(context, scaled(context, 1_000, 10), samples)),
      ...(await rareAndCatchUp(context, scaled(context, 1_000_000, 2_000))),
    ];
  },
};
