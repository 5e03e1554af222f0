/** A projection for tests: order totals per customer, with an optional poisoned total that its handler refuses. */
import type Database from 'better-sqlite3';
import type { PostgresReadModel, PostgresReadModelDb } from '../../engines/postgres/read-model.js';
import type { EventStore } from '../../store/event-store.js';
import { defineProjection } from '../define.js';
import type { MemoryDb } from '../memory-read-model.js';
import type { Projection, ProjectionContext } from '../model.js';
import type { RecordedEvent } from '../../store/model.js';

export interface TotalsOptions {
  version?: number;
  /** A total whose handler throws. */
  poison?: number;
  name?: string;
  /** The table's name, as queries see it. */
  table?: string;
}

export const customerTotals = ({
  version = 1,
  poison,
  name = 'customer-totals',
  table = 'totals',
}: TotalsOptions = {}): Projection<Database.Database> =>
  defineProjection<Database.Database>({
    name,
    version,
    init: (db, context) =>
      void db.exec(`CREATE TABLE ${context.table(table)} (customer TEXT PRIMARY KEY, total INTEGER NOT NULL, orders INTEGER NOT NULL)`),
    handlers: {
      OrderPlaced: (db, event, context) => {
        const { customer, total } = event.data as { customer: string; total: number };
        if (total === poison) throw new Error(`cannot take a total of ${poison}`);
        // Version 2 counts each order twice: a change of handlers that a rebuild must show.
        db.prepare(
          `INSERT INTO ${context.table(table)} (customer, total, orders) VALUES (?, ?, ?)
           ON CONFLICT (customer) DO UPDATE SET total = total + excluded.total, orders = orders + excluded.orders`,
        ).run(customer, total, version === 2 ? 2 : 1);
        context.invalidate(customer);
      },
    },
  });

/** Appends `count` orders to one stream: order `start + i` of customer `c{(start + i) % 7}`, total `start + i + 1`. */
export const placeOrders = (store: EventStore, count: number, start = 0) =>
  store.append(
    'orders',
    Array.from({ length: count }, (_, index) => ({
      type: 'OrderPlaced',
      data: { customer: `c${(start + index) % 7}`, total: start + index + 1 },
    })),
  );

/**
 * Live load for crash tests: orders in batches of 1 to 20 at random short intervals until `until` (a
 * time), numbered on from `placed`; resolves with the new count.
 */
export const placeOrdersUntil = async (store: EventStore, placed: number, until: number, random: () => number): Promise<number> => {
  while (Date.now() < until) {
    const count = 1 + Math.floor(random() * 20);
    await placeOrders(store, count, placed);
    placed += count;
    await new Promise((resolve) => setTimeout(resolve, random() * 5));
  }
  return placed;
};

/** The totals that queries see: the view of the active build. */
export const totalsRows = (db: Database.Database): unknown[] =>
  db.prepare('SELECT customer, total, orders FROM totals ORDER BY customer').all();

export type Totals = { total: number; orders: number };

/**
 * The same totals in an in-memory read model (table `totals`, rows keyed and holding their customer). A
 * poisoned total throws after its change, so a test sees that the change is undone with the batch.
 */
export const memoryCustomerTotals = (options: number | TotalsOptions = {}): Projection<MemoryDb> => {
  const { version = 1, poison, name = 'customer-totals', table = 'totals' } = typeof options === 'number' ? { poison: options } : options;
  return defineProjection<MemoryDb>({
    name,
    version,
    init: (db, context) => void db.table<Totals>(context.table(table)),
    handlers: {
      OrderPlaced: (db, event, context) => {
        const { customer, total } = event.data as { customer: string; total: number };
        const rows = db.table<Totals & { customer: string }>(context.table(table));
        const row = rows.get(customer) ?? { customer, total: 0, orders: 0 };
        rows.set(customer, { customer, total: row.total + total, orders: row.orders + (version === 2 ? 2 : 1) });
        context.invalidate(customer);
        if (total === poison) throw new Error(`cannot take a total of ${poison}`);
      },
    },
  });
};

export interface PostgresTotalsOptions extends TotalsOptions {
  /** Write each batch with one set-based upsert (`handleBatch`) instead of one upsert per event. */
  batch?: boolean;
}

/**
 * The same totals in a PostgreSQL read model: one upsert per event, or (`batch`) one upsert of the batch's
 * sums per customer over `unnest` of array parameters. A poisoned total throws after the batch's change.
 */
export const postgresCustomerTotals = ({
  version = 1,
  poison,
  name = 'customer-totals',
  table = 'totals',
  batch = false,
}: PostgresTotalsOptions = {}): Projection<PostgresReadModelDb> => {
  const count = version === 2 ? 2 : 1;
  const orderOf = (event: RecordedEvent) => event.data as { customer: string; total: number };
  return defineProjection<PostgresReadModelDb>({
    name,
    version,
    init: async (db, context) =>
      void (await db.query(
        `CREATE TABLE ${context.table(table)} (customer text PRIMARY KEY, total numeric NOT NULL, orders bigint NOT NULL)`,
      )),
    ...(batch
      ? {
          source: { types: ['OrderPlaced'] },
          handleBatch: async (db: PostgresReadModelDb, events: readonly RecordedEvent[], context: ProjectionContext) => {
            const orders = events.map(orderOf);
            const t = context.table(table);
            await db.query(
              `INSERT INTO ${t} AS t (customer, total, orders)
               SELECT customer, sum(total), count(*) * $3 FROM unnest($1::text[], $2::numeric[]) AS o (customer, total) GROUP BY customer
               ON CONFLICT (customer) DO UPDATE SET total = t.total + excluded.total, orders = t.orders + excluded.orders`,
              [orders.map((order) => order.customer), orders.map((order) => order.total), count],
            );
            for (const customer of new Set(orders.map((order) => order.customer))) context.invalidate(customer);
            if (orders.some((order) => order.total === poison)) throw new Error(`cannot take a total of ${poison}`);
          },
        }
      : {
          handlers: {
            OrderPlaced: async (db, event, context) => {
              const { customer, total } = orderOf(event);
              const t = context.table(table);
              await db.query(
                `INSERT INTO ${t} AS t (customer, total, orders) VALUES ($1, $2, $3)
               ON CONFLICT (customer) DO UPDATE SET total = t.total + excluded.total, orders = t.orders + excluded.orders`,
                [customer, total, count],
              );
              context.invalidate(customer);
              if (total === poison) throw new Error(`cannot take a total of ${poison}`);
            },
          },
        }),
  });
};

/** The totals that queries of a PostgreSQL read model see (the view of the active build), as numbers. */
export const postgresTotalsRows = async (
  model: Pick<PostgresReadModel, 'query'>,
  table = 'totals',
): Promise<{ customer: string; total: number; orders: number }[]> => {
  const rows = await model.query<{ customer: string; total: string; orders: string }>(
    `SELECT customer, total::text, orders::text FROM "${table}" ORDER BY customer`,
  );
  return rows.map((row) => ({ customer: row.customer, total: Number(row.total), orders: Number(row.orders) }));
};
