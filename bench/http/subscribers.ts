/**
 * The load side of the live-subscribers benchmark, in a process of its own so that the server's CPU is
 * the server's alone. `<url> <token> <subscribers> <events> <perSecond>`: appends `events` single events
 * at `perSecond` with no subscriber, then opens the subscribers (half on a stream, half on a category,
 * each hearing a share of the events) and appends the same again. It prints a line as each phase starts
 * and ends (`alone`, `alone-done`, `loaded`, `loaded-done`), so that the parent can read the server's CPU
 * across each, and then the figures as one JSON line.
 */
import { connect } from '../../src/client/index.js';
import { isCaughtUp, isEvent, type Subscription } from '../../src/store/model.js';
import { percentile } from '../harness.js';
import { paced } from '../workload.js';

const [url, token, subscriberCount, eventCount, rate] = process.argv.slice(2) as [string, string, string, string, string];
const subscribers = Number(subscriberCount);
const events = Number(eventCount);
const perSecond = Number(rate);

const writer = connect(url, { token, connections: 16 });
const reader = connect(url, { token });
const streamOf = (index: number) => `c${index % subscribers}-1`;
const say = (line: string) => process.stdout.write(`${line}\n`);

/** The paced appends, noting in `sentAt` when each was sent (by index); their latencies. */
const appendAll = async (sentAt: number[]) => {
  const latencies: number[] = [];
  await paced(events, perSecond, async (index) => {
    const start = (sentAt[index] = performance.now());
    await writer.append(streamOf(index), [{ type: 'Tick', data: { index } }]);
    latencies.push(performance.now() - start);
  });
  return latencies;
};

/** Opens the subscribers and resolves once each has caught up; then they note when each event arrives. */
const subscribeAll = async (arrived: (index: number) => void) => {
  const subscriptions: Subscription[] = [];
  await Promise.all(
    Array.from({ length: subscribers }, async (_, index) => {
      const subscription = reader.subscribe(
        index % 2 === 0 ? { stream: `c${index}-1`, from: 'end' } : { category: `c${index}`, from: 'end' },
      );
      subscriptions.push(subscription);
      const messages = subscription[Symbol.asyncIterator]();
      while (!isCaughtUp((await messages.next()).value as never));
      void (async () => {
        for (let next = await messages.next(); !next.done; next = await messages.next()) {
          if (isEvent(next.value)) arrived((next.value.data as { index: number }).index);
        }
      })();
    }),
  );
  return subscriptions;
};

const figures = (samples: number[]) => ({ p50: percentile(samples, 50), p99: percentile(samples, 99) });

await paced(Math.min(events, 200), perSecond, (index) => writer.append(streamOf(index), [{ type: 'Tick', data: { index } }]));
say('alone');
const alone = await appendAll([]);
say('alone-done');

// The subscribers start from the end, so they hear only the events of the second phase.
const sentAt: number[] = [];
const deliveries: number[] = [];
let allArrived: () => void = () => undefined;
const arrivedAll = new Promise<void>((resolve) => (allArrived = resolve));
const subscriptions = await subscribeAll((index) => {
  deliveries.push(performance.now() - sentAt[index]!);
  if (deliveries.length === events) allArrived();
});
say('loaded');
const startedAt = performance.now();
const loaded = await appendAll(sentAt);
await Promise.race([arrivedAll, new Promise((resolve) => setTimeout(resolve, 30_000).unref())]);
const seconds = (performance.now() - startedAt) / 1000;
say('loaded-done');
say(
  JSON.stringify({
    alone: figures(alone),
    loaded: figures(loaded),
    delivery: figures(deliveries),
    delivered: deliveries.length,
    expected: events,
    seconds,
  }),
);
await Promise.all(subscriptions.map((subscription) => subscription.close()));
await Promise.all([writer.close(), reader.close()]);
