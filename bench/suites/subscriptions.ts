/**
 * What live subscribers cost the writer: the latency of single appends on a long log (SQLite with
 * durability `fsync`, then PostgreSQL) with 2,000 idle stream subscribers, and with 10 subscriptions whose
 * filters matched only near the start of the log, each beside the same appends with no subscriber at all,
 * in the same run.
 */
import { join } from 'node:path';
import type { EventStore } from '../../src/store/event-store.js';
import { isCaughtUp, type Subscription, type SubscriptionMessage } from '../../src/store/model.js';
import { openEventStore } from '../../src/engines/open.js';
import { openTestPostgresStore, postgresSkipReason } from '../../src/engines/postgres/testing/test-database.js';
import { percentile, type BenchContext, type BenchSuite, type Measurement } from '../harness.js';
import { eventOf, preload, scaled } from '../workload.js';

/** Single appends one after the other; their latencies in ms. */
const appendLatencies = async (store: EventStore, count: number) => {
  const latencies: number[] = [];
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    await store.append(`order-${i % 100}`, [eventOf(i)]);
    latencies.push(performance.now() - start);
  }
  return latencies;
};

/** Opens subscriptions and waits until each has delivered the end of its history. */
const subscribeAll = async (store: EventStore, count: number, options: (index: number) => Parameters<EventStore['subscribe']>[0]) => {
  const subscriptions: Subscription[] = [];
  const caughtUp: Promise<void>[] = [];
  for (let index = 0; index < count; index++) {
    const subscription = store.subscribe(options(index));
    subscriptions.push(subscription);
    const messages = subscription[Symbol.asyncIterator]();
    caughtUp.push(
      (async () => {
        while (!isCaughtUp((await messages.next()).value as SubscriptionMessage));
        // Then live and idle: one pending read of the next message, as a consumer waiting for events.
        void messages.next();
      })(),
    );
  }
  await Promise.all(caughtUp);
  return subscriptions;
};

const closeAll = (subscriptions: Subscription[]) => Promise.all(subscriptions.map((subscription) => subscription.close()));

/** Appends with no subscriber, then with idle stream subscribers, then with rare-filter subscriptions. */
const measure = async (context: BenchContext, engine: string, store: EventStore, logLength: number): Promise<Measurement[]> => {
  const idleCount = scaled(context, 2_000, 50);
  const rareCount = 10;
  const appends = scaled(context, 2_000, 100);
  context.progress(`${engine}: writing a ${logLength.toLocaleString('en-US')}-event log`);
  // One event near the start of the log matches each rare filter; nothing after it does.
  await store.append(
    'rare-0',
    Array.from({ length: rareCount }, (_, i) => ({ type: `Rare${i}`, data: {} })),
  );
  await preload(store, logLength, { batch: 1000, streams: 100 });

  context.progress(`${engine}: appends with no subscriber`);
  const alone = await appendLatencies(store, appends);
  context.progress(`${engine}: appends with ${idleCount} idle stream subscribers`);
  const idle = await subscribeAll(store, idleCount, (index) => ({ stream: `idle-${index}` }));
  const withIdle = await appendLatencies(store, appends);
  await closeAll(idle);
  context.progress(`${engine}: appends with ${rareCount} rare-filter subscriptions`);
  const rare = await subscribeAll(store, rareCount, (index) => ({ filter: { types: [`Rare${index}`] } }));
  const withRare = await appendLatencies(store, appends);
  await closeAll(rare);

  const baseline = percentile(alone, 50);
  const limit = { name: 'the same appends with no subscriber', value: baseline };
  const details = (latencies: number[]) => ({
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    baselineP99Ms: percentile(alone, 99),
    appends,
  });
  const target = '<= 1.3x limit';
  return [
    {
      name: `${engine}: append p50, ${idleCount.toLocaleString('en-US')} idle stream subscribers`,
      unit: 'ms',
      value: percentile(withIdle, 50),
      limit,
      target,
      details: details(withIdle),
    },
    {
      name: `${engine}: append p50, ${rareCount} rare-filter subscriptions on a ${logLength.toLocaleString('en-US')}-event log`,
      unit: 'ms',
      value: percentile(withRare, 50),
      limit,
      target,
      details: details(withRare),
    },
  ];
};

export const suite: BenchSuite = {
  name: 'subscriptions',
  async run(context: BenchContext): Promise<Measurement[]> {
    const logLength = scaled(context, 1_000_000, 5_000);
    const sqlite = await openEventStore({ engine: 'sqlite', path: join(context.tempDir(), 'store.db'), durability: 'fsync' });
    const measurements = await measure(context, 'SQLite', sqlite, logLength).finally(() => sqlite.close());
    const skipped = await postgresSkipReason();
    if (skipped !== undefined) {
      context.progress(`PostgreSQL skipped: ${skipped}`);
      return measurements;
    }
    const postgres = await openTestPostgresStore();
    return [...measurements, ...(await measure(context, 'PostgreSQL', postgres, logLength).finally(() => postgres.close()))];
  },
};
