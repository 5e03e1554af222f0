/**
 * Consumer groups: four consumers over HTTP, each `groups.consume` acking every event (settles of
 * handlers that finish together share a call), against a server in a process of its own, on SQLite
 * (durability `fsync`) and on PostgreSQL. Beside each, the limit underneath: the same four consumers on
 * the embedded store of the same engine, without HTTP.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { connect } from '../../src/client/index.js';
import { openEventStore } from '../../src/engines/open.js';
import { dropSchema, freshSchema, postgresSkipReason, postgresTestUrl } from '../../src/engines/postgres/testing/test-database.js';
import type { EventStore } from '../../src/store/event-store.js';
import { perSecond, timed, type BenchContext, type Measurement } from '../harness.js';
import type { BenchSuite } from '../harness.js';
import { preload, scaled } from '../workload.js';
import { withServer } from '../http/processes.js';

const consumers = 4;
const concurrency = 64;

/** Four consumers of one new group drain `total` events; events per second from the first pull to the last ack. */
const drain = async (stores: EventStore[], total: number) => {
  const [admin] = stores;
  const group = `bench-${randomBytes(4).toString('hex')}`;
  await admin!.groups.create(group, { from: 'start' });
  let handled = 0;
  let finished!: () => void;
  const allHandled = new Promise<void>((resolve) => (finished = resolve));
  const ms = await timed(async () => {
    const running = stores.map((store, index) =>
      store.groups.consume(
        group,
        () => {
          if (++handled === total) finished();
        },
        { consumer: `consumer-${index}`, concurrency },
      ),
    );
    await allHandled;
    await Promise.all(running.map((consumer) => consumer.close()));
  });
  const info = await admin!.groups.info(group);
  if (info.checkpoint !== info.lastPosition || info.pending !== 0)
    throw new Error(`group ${group} is not settled: ${info.pending} pending`);
  return perSecond(total, ms);
};

const measure = async (context: BenchContext, engine: 'sqlite' | 'postgres'): Promise<Measurement> => {
  const total = scaled(context, 100_000, 500);
  const token = randomBytes(32).toString('base64url');
  const schema = freshSchema();
  const path = join(context.tempDir(), 'groups.db');
  const open = () =>
    engine === 'sqlite'
      ? openEventStore({ engine, path, durability: 'fsync' })
      : openEventStore({ engine, url: postgresTestUrl(), schema });
  try {
    context.progress(`${engine}: writing ${total.toLocaleString('en-US')} events`);
    const seed = await open();
    await preload(seed, total, { batch: 1000, streams: 100 });

    context.progress(`${engine}: ${consumers} embedded consumers`);
    const embedded = await drain(Array(consumers).fill(seed), total);
    await seed.close();

    context.progress(`${engine}: ${consumers} consumers over HTTP`);
    const args = engine === 'sqlite' ? ['annals', path, token] : ['annals-postgres', schema, token];
    const overHttp = await withServer(args, async (url) => {
      const stores = Array.from({ length: consumers }, () => connect(url, { token }));
      try {
        return await drain(stores, total);
      } finally {
        await Promise.all(stores.map((store) => store.close()));
      }
    });
    return {
      name: `consumer group on ${engine === 'sqlite' ? 'SQLite' : 'PostgreSQL'}, ${consumers} consumers over HTTP, ack per event`,
      unit: 'events/s',
      value: overHttp,
      limit: { name: `the same ${consumers} consumers embedded (no HTTP)`, value: embedded },
      target: engine === 'sqlite' ? '>= 20000' : '>= 10000',
      details: { events: total, concurrencyPerConsumer: concurrency },
    };
  } finally {
    if (engine === 'postgres') await dropSchema(schema);
  }
};

export const suite: BenchSuite = {
  name: 'groups',
  async run(context) {
    const measurements = [await measure(context, 'sqlite')];
    const skipped = await postgresSkipReason();
    if (skipped === undefined) measurements.push(await measure(context, 'postgres'));
    else context.progress(`postgres: skipped (${skipped})`);
    return measurements;
  },
};
