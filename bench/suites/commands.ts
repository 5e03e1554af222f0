/**
 * Commands and snapshots (issue 11), on SQLite with durability `fsync`:
 * - loading a 100,000-event stream with a trivial `evolve`, from the start and from a snapshot, beside
 *   reading the same events (the layer underneath);
 * - commands across 10,000 streams from 64 concurrent callers, loading each state and with a state cache,
 *   beside the appends they make alone;
 * - one hot stream, 16 concurrent senders beside a single sender (every command succeeds through retries;
 *   the final count proves no update was lost);
 * each embedded and through the client against a server in a process of its own.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { aggregateStream, createStateCache, handleCommand, type Decider, type StateCache } from '../../src/index.js';
import { connect } from '../../src/client/index.js';
import { openEventStore } from '../../src/engines/open.js';
import type { EventStore } from '../../src/store/event-store.js';
import { percentile, perSecond, timed, type BenchContext, type BenchSuite, type Measurement } from '../harness.js';
import { withServer } from '../http/processes.js';
import { callConcurrently, scaled } from '../workload.js';

type Counted = { type: 'Counted'; data: { by: number } };
const counter: Decider<number, { by: number }, Counted> = {
  initialState: () => 0,
  evolve: (count, event) => count + event.data.by,
  decide: ({ by }) => ({ type: 'Counted', data: { by } }),
};
const snapshotting = { ...counter, snapshot: { every: 100, schemaVersion: 1 } };

const streams = 10_000;
const callers = 64;
const hotSenders = 16;

/** Loads of `stream`: the whole stream, then from a snapshot; each beside the events it reads. */
const loading = async (store: EventStore, stream: string, length: number, context: BenchContext, how: string): Promise<Measurement[]> => {
  const fromStart = Math.min(...(await repeat(5, () => timed(() => aggregateStream(store, stream, counter)))));
  const reading = Math.min(
    ...(await repeat(5, () =>
      timed(async () => {
        for await (const _ of store.iterateStream(stream));
      }),
    )),
  );
  context.progress(`${how}: loading from a snapshot`);
  const loads = scaled(context, 1000, 100);
  const fromSnapshot = await repeat(loads, () => timed(() => aggregateStream(store, stream, snapshotting)));
  const tail = await repeat(loads, () => timed(() => store.readStream(stream, { from: length - 10 })));
  const { state } = await aggregateStream(store, stream, snapshotting);
  if (state !== length) throw new Error(`loading from the snapshot gave ${state}, not ${length}`);
  return [
    {
      name: `load a ${length.toLocaleString('en-US')}-event stream, no snapshot, ${how}`,
      unit: 'ms',
      value: fromStart,
      limit: { name: `reading the stream's events (iterateStream), ${how}`, value: reading },
      target: how === 'embedded' ? '<= 300' : undefined,
    },
    {
      name: `load it from a snapshot 10 events back, p99, ${how}`,
      unit: 'ms',
      value: percentile(fromSnapshot, 99),
      limit: { name: `reading the last 10 events, p99, ${how}`, value: percentile(tail, 99) },
      target: how === 'embedded' ? '<= 2' : undefined,
      details: { loads, p50: percentile(fromSnapshot, 50) },
    },
  ];
};

const repeat = async <T>(times: number, work: () => Promise<T>): Promise<T[]> => {
  const results: T[] = [];
  for (let index = 0; index < times; index++) results.push(await work());
  return results;
};

/**
 * Commands from `callers` concurrent callers, spread over 10,000 streams (five each), loading each state
 * or deciding on a state cache; beside the bare appends.
 */
const spread = async (store: EventStore, context: BenchContext, how: string, target: string, cache?: StateCache): Promise<Measurement> => {
  const total = scaled(context, 50_000, 2000);
  const perCaller = Math.ceil(total / callers);
  const prefix = randomBytes(3).toString('hex');
  const { ms } = await callConcurrently(callers, perCaller, (caller, index) =>
    handleCommand(store, `counter-${prefix}-${(caller * perCaller + index) % streams}`, { by: 1 }, counter, { cache }),
  );
  const { ms: appendMs } = await callConcurrently(callers, perCaller, (caller, index) =>
    store.append(`plain-${prefix}-${(caller * perCaller + index) % streams}`, [{ type: 'Counted', data: { by: 1 } }]),
  );
  return {
    name: `commands across ${streams.toLocaleString('en-US')} streams, ${callers} callers, ${cache ? 'state cache' : 'loading each state'}, ${how}`,
    unit: 'commands/s',
    value: perSecond(callers * perCaller, ms),
    limit: {
      name: `appending one event per call the same way (no load, no decide), ${how}`,
      value: perSecond(callers * perCaller, appendMs),
    },
    target,
    details: { commands: callers * perCaller },
  };
};

/** `senders` concurrent senders of commands to one stream; throws if the count shows a lost update. */
const hot = async (store: EventStore, senders: number, perSender: number, how: string) => {
  const stream = `hot-${randomBytes(3).toString('hex')}`;
  let retried = 0;
  const { ms } = await callConcurrently(senders, perSender, async () => {
    const before = Date.now();
    await handleCommand(store, stream, { by: 1 }, snapshotting, { maxAttempts: 1000 });
    if (Date.now() - before > 50) retried++;
  });
  const { state } = await aggregateStream(store, stream, counter);
  if (state !== senders * perSender) throw new Error(`${how}: ${senders * perSender} commands counted ${state}: an update was lost`);
  return { rate: perSecond(senders * perSender, ms), slow: retried };
};

const hotStream = async (store: EventStore, context: BenchContext, how: string): Promise<Measurement> => {
  const perSender = scaled(context, 200, 10);
  const single = await hot(store, 1, perSender * hotSenders, how);
  const many = await hot(store, hotSenders, perSender, how);
  return {
    name: `one hot stream, ${hotSenders} concurrent senders (no lost update), ${how}`,
    unit: 'commands/s',
    value: many.rate,
    limit: { name: `one sender on one stream, ${how}`, value: single.rate },
    details: { commands: hotSenders * perSender, slowerThan50ms: many.slow },
  };
};

export const suite: BenchSuite = {
  name: 'commands',
  async run(context) {
    const length = scaled(context, 100_000, 2000);
    const path = join(context.tempDir(), 'commands.db');
    const token = randomBytes(32).toString('base64url');
    const stream = 'long-counter';

    context.progress(`writing a ${length.toLocaleString('en-US')}-event stream`);
    const store = await openEventStore({ engine: 'sqlite', path, durability: 'fsync' });
    for (let done = 0; done < length; done += 1000) {
      await store.append(
        stream,
        Array.from({ length: Math.min(1000, length - done) }, () => ({ type: 'Counted', data: { by: 1 } })),
      );
    }
    await store.snapshots.write(stream, { revision: length - 11, schemaVersion: 1, state: length - 10 });

    context.progress('embedded: loading');
    const measurements = await loading(store, stream, length, context, 'embedded');
    context.progress('embedded: commands across streams');
    measurements.push(await spread(store, context, 'embedded', '>= 10000'));
    measurements.push(await spread(store, context, 'embedded', '>= 10000', createStateCache()));
    context.progress('embedded: one hot stream');
    measurements.push(await hotStream(store, context, 'embedded'));
    await store.close();

    await withServer(['annals', path, token], async (url) => {
      const client = connect(url, { token });
      try {
        context.progress('over HTTP: loading');
        measurements.push(...(await loading(client, stream, length, context, 'over HTTP')));
        context.progress('over HTTP: commands across streams');
        measurements.push(await spread(client, context, 'over HTTP', '>= 5000'));
        measurements.push(await spread(client, context, 'over HTTP', '>= 5000', createStateCache()));
        context.progress('over HTTP: one hot stream');
        measurements.push(await hotStream(client, context, 'over HTTP'));
      } finally {
        await client.close();
      }
    });
    return measurements;
  },
};
