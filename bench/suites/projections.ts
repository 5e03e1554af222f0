/**
 * Projection rebuilds (issue 12): a projection of order totals per customer rebuilt from a log of orders on
 * SQLite, into an in-memory read model beside reading the same log (`iterateAll`), and into a SQLite read
 * model beside raw better-sqlite3 upserts of the same rows in transactions of the same size.
 */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { openEventStore } from '../../src/engines/open.js';
import { createSqliteReadModel } from '../../src/engines/sqlite/read-model.js';
import { createMemoryReadModel } from '../../src/projection/memory-read-model.js';
import type { Projection, ReadModel } from '../../src/projection/model.js';
import { runProjection } from '../../src/projection/run.js';
import { customerTotals, memoryCustomerTotals } from '../../src/projection/testing/customer-totals.js';
import type { EventStore } from '../../src/store/event-store.js';
import { perSecond, timed, type BenchSuite } from '../harness.js';
import { preload, scaled } from '../workload.js';

const batchSize = 1000;

/** Events per second of a rebuild from the start of the log to its head. */
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
      ];
    } finally {
      await store.close();
    }
  },
};
