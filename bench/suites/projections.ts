/**
 * Projection rebuilds (issue 12): a projection of order totals per customer rebuilt from a log of orders on
 * SQLite, into an in-memory read model beside reading the same log (`iterateAll`), into a SQLite read
 * model beside raw better-sqlite3 upserts of the same rows in transactions of the same size, and into a
 * PostgreSQL read model beside raw `pg` upserts of the same rows: set-based (one `INSERT ... SELECT FROM
 * unnest(...) ... ON CONFLICT` a batch, the projection's `handleBatch`) and one statement per event (its
 * per-event handlers, over the first 50,000 events only, as each is a round trip). The PostgreSQL rows are
 * left out, with a note, when PostgreSQL is unreachable.
 */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import pg from 'pg';
import { openEventStore } from '../../src/engines/open.js';
import { createPostgresReadModel } from '../../src/engines/postgres/read-model.js';
import { dropSchema, freshSchema, postgresTestUrl, postgresUnreachable } from '../../src/engines/postgres/testing/test-database.js';
import { createSqliteReadModel } from '../../src/engines/sqlite/read-model.js';
import { createMemoryReadModel } from '../../src/projection/memory-read-model.js';
import type { Projection, ReadModel } from '../../src/projection/model.js';
import { runProjection } from '../../src/projection/run.js';
import { customerTotals, memoryCustomerTotals, postgresCustomerTotals } from '../../src/projection/testing/customer-totals.js';
import type { EventStore } from '../../src/store/event-store.js';
import { perSecond, timed, type BenchSuite, type Measurement } from '../harness.js';
import { preload, scaled } from '../workload.js';

const batchSize = 1000;
/** Events of the PostgreSQL rebuild with a handler per event (a round trip each). */
const perEventEvents = 50_000;

/** Events per second of a rebuild from the start of the log to `head` (its head, or a position before it). */
const rebuild = async <Db>(store: EventStore, projection: Projection<Db>, model: ReadModel<Db>, head: bigint) => {
  let runner: ReturnType<typeof runProjection<Db>> | undefined;
  const ms = await timed(async () => {
    runner = runProjection(store, projection, model, { batchSize });
    while (runner.status().position < head) {
      if (runner.status().state === 'failed') throw new Error(runner.status().lastError?.message);
      await sleep(1);
    }
  });
  await runner!.close();
  return perSecond(Number(head), ms);
};

/** The same rows written straight with better-sqlite3: one upsert per event, `batchSize` to a transaction. */
const rawUpserts = async (store: EventStore, path: string, head: bigint) => {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec('CREATE TABLE totals (customer TEXT PRIMARY KEY, total INTEGER NOT NULL, orders INTEGER NOT NULL)');
  const upsert = db.prepare(
    `INSERT INTO totals (customer, total, orders) VALUES (?, ?, 1)
     ON CONFLICT (customer) DO UPDATE SET total = total + excluded.total, orders = orders + 1`,
  );
  const rows: [string, number][] = [];
  for await (const event of store.iterateAll()) {
    const { customer, total } = event.data as { customer: string; total: number };
    rows.push([customer, total]);
  }
  const write = db.transaction((batch: [string, number][]) => {
    for (const [customer, total] of batch) upsert.run(customer, total);
  });
  const ms = await timed(() => {
    for (let start = 0; start < rows.length; start += batchSize) write(rows.slice(start, start + batchSize));
  });
  db.close();
  return perSecond(Number(head), ms);
};

/** The log's orders as rows (customer, total), read before any timing. */
const ordersOf = async (store: EventStore): Promise<[string, number][]> => {
  const rows: [string, number][] = [];
  for await (const event of store.iterateAll()) {
    const { customer, total } = event.data as { customer: string; total: number };
    rows.push([customer, total]);
  }
  return rows;
};

/**
 * The same rows written straight with `pg`, `batchSize` to a transaction, through a prepared statement:
 * one set-based upsert of the batch's sums per customer (`set`), or one upsert per row (`rows`, over the
 * first `limit` rows).
 */
const rawPostgres = async (rows: [string, number][], how: 'set' | 'rows', limit = rows.length) => {
  const schema = freshSchema();
  const client = new pg.Client({ connectionString: postgresTestUrl() });
  await client.connect();
  try {
    await client.query(`CREATE SCHEMA "${schema}"`);
    await client.query(`CREATE TABLE "${schema}".totals (customer text PRIMARY KEY, total numeric NOT NULL, orders bigint NOT NULL)`);
    const upsert = `ON CONFLICT (customer) DO UPDATE SET total = t.total + excluded.total, orders = t.orders + excluded.orders`;
    const taken = rows.slice(0, limit);
    const ms = await timed(async () => {
      for (let start = 0; start < taken.length; start += batchSize) {
        const batch = taken.slice(start, start + batchSize);
        await client.query('BEGIN');
        if (how === 'set') {
          await client.query({
            name: 'raw-set',
            text: `INSERT INTO "${schema}".totals AS t (customer, total, orders)
             SELECT customer, sum(total), count(*) FROM unnest($1::text[], $2::numeric[]) AS o (customer, total) GROUP BY customer ${upsert}`,
            values: [batch.map(([customer]) => customer), batch.map(([, total]) => total)],
          });
        } else {
          for (const [customer, total] of batch) {
            await client.query({
              name: 'raw-row',
              text: `INSERT INTO "${schema}".totals AS t (customer, total, orders) VALUES ($1, $2, 1) ${upsert}`,
              values: [customer, total],
            });
          }
        }
        await client.query('COMMIT');
      }
    });
    return perSecond(taken.length, ms);
  } finally {
    await client.end();
    await dropSchema(schema);
  }
};

/** The PostgreSQL read model's rows, each beside raw `pg` doing the same writes. */
const postgresRows = async (
  context: Parameters<BenchSuite['run']>[0],
  store: EventStore,
  total: number,
  head: bigint,
): Promise<Measurement[]> => {
  const unreachable = await postgresUnreachable();
  if (unreachable !== undefined) {
    context.progress(`PostgreSQL read model rows skipped: PostgreSQL is unreachable at ${postgresTestUrl()} (${unreachable})`);
    return [];
  }
  const rows = await ordersOf(store);
  const perEvent = Math.min(total, perEventEvents);
  const into = async (batch: boolean, until: bigint) => {
    const schema = freshSchema();
    const model = createPostgresReadModel({ url: postgresTestUrl(), schema });
    try {
      return await rebuild(store, postgresCustomerTotals({ batch }), model, until);
    } finally {
      await model.close();
      await dropSchema(schema);
    }
  };
  context.progress('rebuilding into PostgreSQL, a set-based upsert a batch (handleBatch)');
  const batched = await into(true, head);
  context.progress('raw set-based upserts into PostgreSQL');
  const rawSet = await rawPostgres(rows, 'set');
  context.progress(`rebuilding into PostgreSQL, an upsert an event (${perEvent.toLocaleString('en-US')} events)`);
  // Positions of the log on SQLite count its events from 1, so the perEvent-th event is at that position.
  const perEventRate = await into(false, BigInt(perEvent));
  context.progress('raw upserts into PostgreSQL, one a row');
  const rawRows = await rawPostgres(rows, 'rows', perEvent);
  return [
    {
      name: `projection rebuild into a PostgreSQL read model, handleBatch: one set-based upsert per ${batchSize} events`,
      unit: 'events/s',
      value: batched,
      limit: {
        name: 'raw pg set-based upserts (INSERT ... SELECT FROM unnest ... ON CONFLICT, prepared) of the same rows, same transactions',
        value: rawSet,
      },
      target: '>= 50000',
      details: { events: total },
    },
    {
      name: `projection rebuild into a PostgreSQL read model, a handler per event (a round trip each), ${batchSize} events a transaction`,
      unit: 'events/s',
      value: perEventRate,
      limit: { name: 'raw pg upserts of the same rows, one a row (prepared), same transactions', value: rawRows },
      details: { events: perEvent },
    },
  ];
};

export const suite: BenchSuite = {
  name: 'projections',
  async run(context) {
    const total = scaled(context, 500_000, 5000);
    const dir = context.tempDir();
    const store = await openEventStore({ engine: 'sqlite', path: join(dir, 'log.db'), durability: 'os' });
    try {
      context.progress(`writing ${total.toLocaleString('en-US')} orders`);
      await preload(store, total, { batch: 1000, streams: 100 });
      const head = (await store.stats()).headPosition;

      context.progress('reading the log');
      const readMs = await timed(async () => {
        for await (const _ of store.iterateAll());
      });
      context.progress('rebuilding into memory');
      const memory = await rebuild(store, memoryCustomerTotals(), createMemoryReadModel(), head);
      context.progress('rebuilding into SQLite');
      const model = createSqliteReadModel(join(dir, 'model.db'));
      const sqlite = await rebuild(store, customerTotals(), model, head);
      await model.close();
      context.progress('raw upserts');
      const raw = await rawUpserts(store, join(dir, 'raw.db'), head);
      const postgres = await postgresRows(context, store, total, head);
      return [
        {
          name: 'projection rebuild into an in-memory read model',
          unit: 'events/s',
          value: memory,
          limit: { name: 'reading the same log (iterateAll)', value: perSecond(total, readMs) },
          target: '<= 1.3x limit',
          details: { events: total },
        },
        {
          name: `projection rebuild into a SQLite read model, ${batchSize} events a transaction`,
          unit: 'events/s',
          value: sqlite,
          limit: { name: 'raw better-sqlite3 upserts of the same rows, same transactions', value: raw },
          target: '>= 150000',
          details: { events: total },
        },
        ...postgres,
      ];
    } finally {
      await store.close();
    }
  },
};
