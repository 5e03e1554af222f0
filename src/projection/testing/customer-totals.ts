/** A projection for tests: order totals per customer, with an optional poisoned total that its handler refuses. */
import type Database from 'better-sqlite3';
import type { EventStore } from '../../store/event-store.js';
import { defineProjection } from '../define.js';
import type { MemoryDb } from '../memory-read-model.js';
import type { Projection } from '../model.js';

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

/** The totals that queries see: the view of the active build. */
export const totalsRows = (db: Database.Database): unknown[] =>
  db.prepare('SELECT customer, total, orders FROM totals ORDER BY customer').all();

export type Totals = { total: number; orders: number };

/**
 * The same totals in an in-memory read model (table `totals`). A poisoned total throws after its change,
 * so a test sees that the change is undone with the batch.
 */
export const memoryCustomerTotals = (poison?: number): Projection<MemoryDb> =>
  defineProjection<MemoryDb>({
    name: 'customer-totals',
    version: 1,
    init: (db, context) => void db.table<Totals>(context.table('totals')),
    handlers: {
      OrderPlaced: (db, event, context) => {
        const { customer, total } = event.data as { customer: string; total: number };
        const rows = db.table<Totals>(context.table('totals'));
        const row = rows.get(customer) ?? { total: 0, orders: 0 };
        rows.set(customer, { total: row.total + total, orders: row.orders + 1 });
        if (total === poison) throw new Error(`cannot take a total of ${poison}`);
      },
    },
  });
