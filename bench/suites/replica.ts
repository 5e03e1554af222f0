/**
 * Replica lag (issue 14): a primary and a replica (`annals serve --replica-of`), each a process of its own
 * on SQLite, under a steady open-loop load of 1,000 and then 10,000 events/s. The lag of an event is the
 * time from its commit on the primary (its `recordedAt`) until a subscriber of the replica receives it;
 * beside it, the same for a subscriber of the primary itself, in the same run: the delivery latency of
 * the layer underneath, which the replica's figure includes once more.
 */
import { join } from 'node:path';
import { connect } from '../../src/client/connect.js';
import { freePort } from '../../src/cli/testing/processes.js';
import type { EventStore } from '../../src/store/event-store.js';
import { isEvent } from '../../src/store/model.js';
import { percentile, type BenchContext, type BenchSuite, type Measurement } from '../harness.js';
import { startLogged } from '../http/processes.js';
import { eventOf, paced, scaled } from '../workload.js';

/** Receives events live from `store` and notes, for each, the ms since its commit. */
const recordLags = (store: EventStore) => {
  const lags: number[] = [];
  const subscription = store.subscribe({ from: 'end' });
  const done = (async () => {
    for await (const message of subscription) if (isEvent(message)) lags.push(Date.now() - message.recordedAt.getTime());
  })();
  return {
    lags,
    async close() {
      await subscription.close();
      await done;
    },
  };
};

const until = async (condition: () => boolean, timeoutMs: number) => {
  const deadline = Date.now() + timeoutMs;
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
};

export const suite: BenchSuite = {
  name: 'replica',
  async run(context: BenchContext): Promise<Measurement[]> {
    const dir = context.tempDir();
    const [primaryPort, replicaPort] = [await freePort(), await freePort()];
    const primaryUrl = `http://127.0.0.1:${primaryPort}`;
    const common = ['--dev', '--durability', 'os', '--log-level', 'warn'];
    const ready = /listening on/;
    const primary = await startLogged(
      ['src/cli/main.ts', 'serve', ...common, '--port', String(primaryPort), '--data', join(dir, 'primary')],
      {
        log: join(dir, 'primary.log'),
        ready,
      },
    );
    const replica = await startLogged(
      ['src/cli/main.ts', 'serve', ...common, '--port', String(replicaPort), '--data', join(dir, 'replica'), '--replica-of', primaryUrl],
      { log: join(dir, 'replica.log'), ready, env: { ANNALS_TOKEN: 'unused-in-dev' } },
    );
    const writer = connect(primaryUrl);
    const primaryReader = connect(primaryUrl);
    const replicaReader = connect(`http://127.0.0.1:${replicaPort}`);
    const measurements: Measurement[] = [];
    try {
      const seconds = scaled(context, 10, 2);
      for (const [rate, perAppend] of [
        [1_000, 1],
        [10_000, 10],
      ] as const) {
        const appends = (rate / perAppend) * seconds;
        context.progress(`${rate.toLocaleString('en-US')} events/s for ${seconds} s (${perAppend} per append)`);
        const onPrimary = recordLags(primaryReader);
        const onReplica = recordLags(replicaReader);
        await new Promise((resolve) => setTimeout(resolve, 300));
        let index = 0;
        await paced(appends, rate / perAppend, () =>
          writer.append(
            `order-${index % 100}`,
            Array.from({ length: perAppend }, () => eventOf(index++)),
          ),
        );
        const total = appends * perAppend;
        await until(() => onReplica.lags.length >= total && onPrimary.lags.length >= total, 30_000);
        await Promise.all([onPrimary.close(), onReplica.close()]);
        const details = (lags: number[]) => ({
          events: lags.length,
          p50: percentile(lags, 50),
          p99: percentile(lags, 99),
          max: Math.max(...lags),
        });
        measurements.push({
          name: `replica lag p99, ${rate.toLocaleString('en-US')} events/s`,
          unit: 'ms',
          value: percentile(onReplica.lags, 99),
          limit: { name: 'a subscriber of the primary', value: percentile(onPrimary.lags, 99) },
          ...(rate === 1_000 ? { target: '<= 100' } : {}),
          details: {
            ...Object.fromEntries(Object.entries(details(onReplica.lags)).map(([key, value]) => [`replica ${key}`, value])),
            ...Object.fromEntries(Object.entries(details(onPrimary.lags)).map(([key, value]) => [`primary ${key}`, value])),
          },
        });
      }
    } finally {
      await Promise.all([writer.close(), primaryReader.close(), replicaReader.close()]);
      await replica.stop();
      await primary.stop();
    }
    return measurements;
  },
};
