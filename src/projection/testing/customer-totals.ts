/** A projection for tests: order totals per customer, with an optional poisoned total that its handler refuses. */
import type Database from 'better-sqlite3';
import type { EventStore } from '../../store/event-store.js';
import { defineProjection } from '../define.js';
import type { MemoryDb } from '../memory-read-model.js';
import type { Projection } from '../model.js';

export const customerTotals = (version = 1, poison?: number): Projection<Database.Database> =>
  defineProjection<Database.Database>({
    name: 'customer-totals',
    version,
    init: (db) => db.exec(`CREATE TABLE totals_v${version} (customer TEXT PRIMARY KEY, total INTEGER NOT NULL, orders INTEGER NOT NULL)`),
    handlers: {
      OrderPlaced: (db, event) => {
        const { customer, total } = event.data as { customer: string; total: number };
        if (total === poison) throw new Error(`cannot take a total of ${poison}`);
        db.prepare(
          `INSERT INTO totals_v${version} (customer, total, orders) VALUES (?, ?, 1)
           ON CONFLICT (customer) DO UPDATE SET total = total + excluded.total, orders = orders + 1`,
        ).run(customer, total);
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

export const totalsRows = (db: Database.Database, version = 1): unknown[] =>
  db.prepare(`SELECT customer, total, orders FROM totals_v${version} ORDER BY customer`).all();

export type Totals = { total: number; orders: number };

/**
 * The same totals in an in-memory read model (table `totals`). A poisoned total throws after its change,
 * so a test sees that the change is undone with the batch.
 */
export const memoryCustomerTotals = (poison?: number): Projection<MemoryDb> =>
  defineProjection<MemoryDb>({
    name: 'customer-totals',
    version: 1,
    init: (db) => void db.table<Totals>('totals'),
    handlers: {
      OrderPlaced: (db, event) => {
        const { customer, total } = event.data as { customer: string; total: number };
        const rows = db.table<Totals>('totals');
        const row = rows.get(customer) ?? { total: 0, orders: 0 };
        rows.set(customer, { total: row.total + total, orders: row.orders + 1 });
        if (total === poison) throw new Error(`cannot take a total of ${poison}`);
      },
    },
  });
