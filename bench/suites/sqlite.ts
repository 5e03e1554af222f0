/**
 * The embedded SQLite engine, durability `fsync`, beside raw better-sqlite3 doing the same work on the
 * same schema (WAL, synchronous FULL, the store's own migration) in the same run: inserting the same rows
 * in the same transactions, and reading the same rows into the same event objects (data and metadata
 * parsed, position a bigint, time a Date).
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openEventStore } from '../../src/engines/open.js';
import { eventColumns } from '../../src/engines/sqlite/columns.js';
import { migrate } from '../../src/engines/sqlite/migrations.js';
import { uuidv7 } from '../../src/store/validate.js';
import { percentile, perSecond, timed, type BenchContext, type BenchSuite, type Measurement } from '../harness.js';
import { appendFromCallers, eventData, eventOf, preload, scaled } from '../workload.js';

const openRaw = (path: string) => {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  migrate(db);
  const insert = db.prepare(`INSERT INTO events (${eventColumns}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`);
  let position = 0;
  /** Inserts `count` rows of `stream` in one transaction, as the store would write them. */
  const insertRows = db.transaction((stream: string, firstRevision: number, count: number) => {
    const now = Date.now();
    for (let i = 0; i < count; i++) {
      const index = firstRevision + i;
      insert.run(++position, stream, index, uuidv7(now), 'OrderPlaced', JSON.stringify(eventData(index)), null, now);
    }
  });
  return { db, insertRows };
};

const appendBatches = async (context: BenchContext): Promise<Measurement> => {
  const dir = context.tempDir();
  const total = scaled(context, 200_000, 2_000);
  const store = await openEventStore({ engine: 'sqlite', path: join(dir, 'store.db'), durability: 'fsync' });
  const storeMs = await timed(() => preload(store, total, { batch: 100, streams: 100 }));
  await store.close();
  const raw = openRaw(join(dir, 'raw.db'));
  const rawMs = await timed(() => {
    for (let done = 0; done < total; done += 100) raw.insertRows(`order-${done % 100}`, done, 100);
  });
  raw.db.close();
  return {
    name: `append, 100-event batches (${total.toLocaleString('en-US')} events)`,
    unit: 'events/s',
    value: perSecond(total, storeMs),
    limit: { name: 'raw inserts, 100 rows per transaction', value: perSecond(total, rawMs) },
    target: '>= 200000',
  };
};

const appendConcurrently = async (context: BenchContext): Promise<Measurement[]> => {
  const dir = context.tempDir();
  const callers = 64;
  const perCaller = scaled(context, 1_000, 10);
  const store = await openEventStore({ engine: 'sqlite', path: join(dir, 'store.db'), durability: 'fsync' });
  const { ms: storeMs, latencies } = await appendFromCallers(store, callers, perCaller);
  await store.close();
  const raw = openRaw(join(dir, 'raw.db'));
  const rawCount = scaled(context, 5_000, 100);
  const rawMs = await timed(() => {
    for (let i = 0; i < rawCount; i++) raw.insertRows(`order-${i % callers}`, i, 1);
  });
  raw.db.close();
  const total = callers * perCaller;
  const details = { p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99), events: total };
  return [
    {
      name: `append, 1 event per call, ${callers} concurrent callers`,
      unit: 'events/s',
      value: perSecond(total, storeMs),
      limit: { name: 'raw inserts, 1 row per transaction', value: perSecond(rawCount, rawMs) },
      target: '>= 50000',
      details,
    },
  ];
};

/** The fastest of three runs: reads are measured warm, for Annals and its limit alike. */
const fastestOf = async (work: () => unknown) => Math.min(await timed(work), await timed(work), await timed(work));

/** What a user of raw better-sqlite3 would build from a row to get what `readStream` returns. */
const eventOfRow = (row: unknown[]) => ({
  id: row[3],
  stream: row[1],
  revision: row[2],
  position: BigInt(row[0] as number),
  type: row[4],
  data: JSON.parse(row[5] as string),
  metadata: row[6] === null ? {} : JSON.parse(row[6] as string),
  recordedAt: new Date(row[7] as number),
});

const reads = async (context: BenchContext): Promise<Measurement[]> => {
  const dir = context.tempDir();
  const streamLength = scaled(context, 100_000, 1_000);
  const logLength = scaled(context, 1_000_000, 10_000);
  const path = join(dir, 'store.db');
  const openStore = () => openEventStore({ engine: 'sqlite', path, durability: 'os' });
  const withRaw = async <T>(work: (raw: Database.Database) => Promise<T>) => {
    const raw = new Database(path, { readonly: true });
    try {
      return await work(raw);
    } finally {
      raw.close();
    }
  };

  context.progress(`writing a ${streamLength.toLocaleString('en-US')}-event stream`);
  let store = await openStore();
  for (let done = 0; done < streamLength; done += 1000) {
    await store.append(
      'long-1',
      Array.from({ length: Math.min(1000, streamLength - done) }, (_, i) => eventOf(done + i)),
    );
  }
  const readStreamMs = await fastestOf(() => store.readStream('long-1'));
  await store.close();
  const rawStreamMs = await withRaw((raw) => {
    const statement = raw.prepare(`SELECT ${eventColumns} FROM events WHERE stream = ? ORDER BY revision`).raw(true);
    return fastestOf(() => (statement.all('long-1') as unknown[][]).map(eventOfRow));
  });

  store = await openStore();
  context.progress(`writing the rest of a ${logLength.toLocaleString('en-US')}-event log`);
  const rest = logLength - streamLength;
  await preload(store, rest, {
    batch: 1000,
    streams: 100,
    progress: (done) => context.progress(`${done.toLocaleString('en-US')} of ${rest.toLocaleString('en-US')} events written`),
  });
  let pages = 0;
  const readAllMs = await timed(async () => {
    for (
      let from = 0n, page = await store.readAll({ from, limit: 1000 });
      page.length > 0;
      page = await store.readAll({ from, limit: 1000 })
    ) {
      pages += page.length;
      from = page.at(-1)!.position + 1n;
    }
  });
  let iterated = 0;
  const iterateAllMs = await timed(async () => {
    for await (const event of store.iterateAll()) if (event.position > 0n) iterated++;
  });
  await store.close();
  if (pages !== logLength || iterated !== logLength) throw new Error(`read ${pages} and ${iterated} events, wrote ${logLength}`);
  const rawAllMs = await withRaw((raw) =>
    timed(() => {
      for (const row of raw.prepare(`SELECT ${eventColumns} FROM events ORDER BY position`).raw(true).iterate() as Iterable<unknown[]>)
        eventOfRow(row);
    }),
  );

  const rawAll = { name: 'raw SELECT of the same rows, made into the same events', value: perSecond(logLength, rawAllMs) };
  return [
    {
      name: `readStream of a ${streamLength.toLocaleString('en-US')}-event stream`,
      unit: 'ms',
      value: readStreamMs,
      limit: { name: 'raw SELECT of the same rows, made into the same events', value: rawStreamMs },
      target: streamLength === 100_000 ? '<= 250' : undefined,
    },
    {
      name: `readAll in pages of 1000, ${logLength.toLocaleString('en-US')} events`,
      unit: 'events/s',
      value: perSecond(logLength, readAllMs),
      limit: rawAll,
    },
    {
      name: `iterateAll, ${logLength.toLocaleString('en-US')} events`,
      unit: 'events/s',
      value: perSecond(logLength, iterateAllMs),
      limit: rawAll,
    },
  ];
};

export const suite: BenchSuite = {
  name: 'sqlite',
  async run(context) {
    context.progress('100-event batches');
    const batches = await appendBatches(context);
    context.progress('64 concurrent callers');
    const concurrent = await appendConcurrently(context);
    const read = await reads(context);
    return [batches, ...concurrent, ...read];
  },
};
