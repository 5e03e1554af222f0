/**
 * The PostgreSQL engine beside raw `pg` doing the same work in the same run, on a table made `LIKE` the
 * engine's events table (same columns, keys and indexes; ids are UUIDv7, as the store generates them):
 * one-row INSERTs from 64 concurrent callers on 16 connections, 100-row INSERTs and COPY of the same rows,
 * a keyset scan of the same rows with data parsed, and a bare LISTEN/NOTIFY round trip for the wake-up
 * latency of subscribers.
 */
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { createEventStore } from '../../src/store/create-store.js';
import type { EventStore } from '../../src/store/event-store.js';
import { isCaughtUp } from '../../src/store/model.js';
import {
  freshSchema,
  openTestPostgresEngine,
  postgresSkipReason,
  postgresTestUrl,
} from '../../src/engines/postgres/testing/test-database.js';
import { uuidv7 } from '../../src/store/validate.js';
import { percentile, perSecond, timed, type BenchSuite, type Measurement } from '../harness.js';
import { appendFromCallers, eventData, eventOf, scaled } from '../workload.js';

const callers = 64;
const rawConnections = 16;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Raw `pg` on a scratch table shaped like the engine's. */
const openRaw = async (schema: string) => {
  const scratch = freshSchema();
  // As many connections as a busy service would hold, and few enough to leave room on a server with the
  // default max_connections of 100 for the tests that may run beside it.
  const pool = new pg.Pool({ connectionString: postgresTestUrl(), max: rawConnections });
  await pool.query(`CREATE SCHEMA "${scratch}"; CREATE TABLE "${scratch}".events (LIKE "${schema}".events INCLUDING ALL)`);
  const table = `"${scratch}".events`;
  let position = 0;
  const row = (stream: string, revision: number) => [
    ++position,
    uuidv7(),
    stream,
    revision,
    'OrderPlaced',
    JSON.stringify(eventData(revision)),
    null,
  ];
  const columns = '(position, id, stream, revision, type, data, metadata)';
  return {
    pool,
    insertOne: (stream: string, revision: number) =>
      pool.query(`INSERT INTO ${table} ${columns} VALUES ($1, $2, $3, $4, $5, $6, $7)`, row(stream, revision)),
    /** The fastest INSERT of many rows with pg: one array a column, unnested (faster than 700 VALUES parameters). */
    insertMany: (stream: string, first: number, count: number) => {
      const rows = Array.from({ length: count }, (_, i) => row(stream, first + i));
      const column = (index: number) => rows.map((values) => values[index]);
      return pool.query(
        `INSERT INTO ${table} ${columns} SELECT * FROM unnest($1::bigint[], $2::uuid[], $3::text[], $4::bigint[], $5::text[], $6::text[], $7::text[])`,
        Array.from({ length: 7 }, (_, index) => column(index)),
      );
    },
    async copy(stream: string, total: number) {
      const client = await pool.connect();
      try {
        const lines = function* () {
          for (let i = 0; i < total; i++) {
            const [p, id, s, r, type, data] = row(stream, i);
            yield `${p}\t${id}\t${s}\t${r}\t${type}\t${String(data).replaceAll('\\', '\\\\')}\t\\N\n`;
          }
        };
        await pipeline(Readable.from(lines()), client.query(copyFrom(`COPY ${table} ${columns} FROM STDIN`)));
      } finally {
        client.release();
      }
    },
    async scan() {
      let count = 0;
      for (let from = 0; ;) {
        const { rows } = await pool.query<unknown[]>({
          text: `SELECT position, stream, revision, id, type, data, metadata, recorded_at FROM ${table} WHERE position >= $1 ORDER BY position LIMIT 1000`,
          values: [from],
          rowMode: 'array',
        });
        for (const columnsOfRow of rows) {
          JSON.parse(columnsOfRow[5] as string);
          if (columnsOfRow[6] !== null) JSON.parse(columnsOfRow[6] as string);
        }
        count += rows.length;
        if (rows.length < 1000) return count;
        from = Number(rows.at(-1)![0]) + 1;
      }
    },
    async truncate() {
      await pool.query(`TRUNCATE ${table}`);
      position = 0;
    },
    async close() {
      await pool.query(`DROP SCHEMA "${scratch}" CASCADE`);
      await pool.end();
    },
  };
};

const concurrentAppends = async (store: EventStore, raw: Awaited<ReturnType<typeof openRaw>>, perCaller: number): Promise<Measurement> => {
  const { ms: storeMs, latencies } = await appendFromCallers(store, callers, perCaller, 'single');
  const rawMs = await timed(() =>
    Promise.all(
      Array.from({ length: callers }, async (_, caller) => {
        for (let i = 0; i < perCaller; i++) await raw.insertOne(`single-${caller}`, i);
      }),
    ),
  );
  const total = callers * perCaller;
  return {
    name: `append, 1 event per call, ${callers} concurrent callers`,
    unit: 'events/s',
    value: perSecond(total, storeMs),
    limit: { name: `raw one-row INSERTs, ${callers} callers on ${rawConnections} connections`, value: perSecond(total, rawMs) },
    target: '>= 10000',
    details: { p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99), events: total },
  };
};

const batchAppends = async (store: EventStore, raw: Awaited<ReturnType<typeof openRaw>>, total: number): Promise<Measurement[]> => {
  const storeMs = await timed(async () => {
    for (let done = 0; done < total; done += 100)
      await store.append(
        `batch-${(done / 100) % 100}`,
        Array.from({ length: 100 }, (_, i) => eventOf(done + i)),
      );
  });
  await raw.truncate();
  const insertMs = await timed(async () => {
    for (let done = 0; done < total; done += 100) await raw.insertMany(`batch-${(done / 100) % 100}`, done, 100);
  });
  await raw.truncate();
  const copyMs = await timed(() => raw.copy('copy-1', total));
  const name = `append, 100-event batches (${total.toLocaleString('en-US')} events)`;
  return [
    {
      name,
      unit: 'events/s',
      value: perSecond(total, storeMs),
      limit: { name: 'raw 100-row INSERTs of unnested arrays', value: perSecond(total, insertMs) },
      target: '>= 100000',
    },
    {
      name: `${name} beside COPY`,
      unit: 'events/s',
      value: perSecond(total, storeMs),
      limit: { name: 'raw COPY of the same rows', value: perSecond(total, copyMs) },
    },
  ];
};

const reads = async (store: EventStore, raw: Awaited<ReturnType<typeof openRaw>>): Promise<Measurement[]> => {
  const { events } = await store.stats();
  let paged = 0;
  const pagesMs = await timed(async () => {
    for (let from = 0n; ;) {
      const page = await store.readAll({ from, limit: 1000 });
      paged += page.length;
      if (page.length < 1000) return;
      from = page.at(-1)!.position + 1n;
    }
  });
  let iterated = 0;
  const iterateMs = await timed(async () => {
    for await (const event of store.iterateAll()) if (event.position > 0n) iterated++;
  });
  if (paged !== events || iterated !== events) throw new Error(`read ${paged} and ${iterated} of ${events} events`);
  const rawCount = await raw.scan();
  const rawMs = await timed(() => raw.scan());
  const limit = { name: 'raw keyset SELECT in pages of 1000, data parsed', value: perSecond(rawCount, rawMs) };
  return [
    {
      name: `readAll in pages of 1000, ${events.toLocaleString('en-US')} events`,
      unit: 'events/s',
      value: perSecond(events, pagesMs),
      limit,
      target: '>= 300000',
    },
    {
      name: `iterateAll, ${events.toLocaleString('en-US')} events`,
      unit: 'events/s',
      value: perSecond(events, iterateMs),
      limit,
      target: '>= 300000',
    },
  ];
};

/** From just before an append on one store to its arrival at a subscriber on another (another server, in effect). */
const wakeUps = async (writer: EventStore, subscriber: EventStore, samples: number): Promise<Measurement> => {
  const stream = `wake-${randomUUID()}`;
  const subscription = subscriber.subscribe({ stream, from: 'end' });
  const messages = subscription[Symbol.asyncIterator]();
  if (!isCaughtUp((await messages.next()).value as never)) throw new Error('expected caught-up first');
  const latencies: number[] = [];
  for (let i = 0; i < samples; i++) {
    const start = performance.now();
    const arrived = messages.next();
    await writer.append(stream, [eventOf(i)]);
    await arrived;
    latencies.push(performance.now() - start);
    await sleep(2);
  }
  await subscription.close();

  const listener = new pg.Client({ connectionString: postgresTestUrl() });
  const notifier = new pg.Client({ connectionString: postgresTestUrl() });
  await Promise.all([listener.connect(), notifier.connect()]);
  await listener.query('LISTEN annals_bench');
  const bare: number[] = [];
  for (let i = 0; i < samples; i++) {
    const start = performance.now();
    const arrived = new Promise((resolve) => listener.once('notification', resolve));
    await notifier.query(`NOTIFY annals_bench, '${i}'`);
    await arrived;
    bare.push(performance.now() - start);
    await sleep(2);
  }
  await Promise.all([listener.end(), notifier.end()]);
  return {
    name: 'append-to-subscriber wake-up latency p99',
    unit: 'ms',
    value: percentile(latencies, 99),
    limit: { name: 'raw NOTIFY to a LISTENing connection, p99', value: percentile(bare, 99) },
    target: '<= 20',
    details: { p50Ms: percentile(latencies, 50), samples, bareP50Ms: percentile(bare, 50) },
  };
};

export const suite: BenchSuite = {
  name: 'postgres',
  unavailable: postgresSkipReason,
  async run(context) {
    const opened = await openTestPostgresEngine({ poolSize: 10 });
    const store = createEventStore(opened.engine);
    const other = await openTestPostgresEngine({ schema: opened.schema, poolSize: 2 });
    const subscriberStore = createEventStore(other.engine);
    const raw = await openRaw(opened.schema);
    try {
      context.progress(`${callers} concurrent callers`);
      const concurrent = await concurrentAppends(store, raw, scaled(context, 500, 4));
      context.progress('100-event batches, then raw INSERT and COPY');
      const batches = await batchAppends(store, raw, scaled(context, 2_000, 10) * 100);
      context.progress('$all reads');
      await raw.truncate();
      await raw.copy('copy-1', (await store.stats()).events);
      const read = await reads(store, raw);
      context.progress('wake-up latency');
      const wake = await wakeUps(store, subscriberStore, scaled(context, 300, 20));
      return [concurrent, ...batches, ...read, wake];
    } finally {
      await raw.close();
      await subscriberStore.close();
      await store.close();
      await opened.drop();
    }
  },
};
