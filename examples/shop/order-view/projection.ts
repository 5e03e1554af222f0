/**
 * The order view: one row per order with its status, kept by a projection in a SQLite read model.
 * Queries read the `orders` view of the active build; handlers write the build's own table.
 */
import type Database from 'better-sqlite3';
import { defineProjection, type Projection } from 'annals';
import type { OrderEvent } from '../order.js';

export interface OrderRow {
  orderId: string;
  customer: string;
  total: number;
  status: string;
  trackingId: string | null;
}

type Data<T extends OrderEvent['type']> = Extract<OrderEvent, { type: T }>['data'];

export const orderView: Projection<Database.Database> = defineProjection<Database.Database>({
  name: 'order-view',
  version: 1,
  source: { category: 'order' },
  init: (db, context) =>
    void db.exec(`CREATE TABLE ${context.table('orders')} (
      order_id TEXT PRIMARY KEY, customer TEXT NOT NULL, total INTEGER NOT NULL, status TEXT NOT NULL, tracking_id TEXT
    )`),
  handlers: {
    OrderPlaced: (db, event, context) => {
      const { orderId, customer, total } = event.data as unknown as Data<'OrderPlaced'>;
      db.prepare(`INSERT INTO ${context.table('orders')} VALUES (?, ?, ?, 'placed', NULL) ON CONFLICT DO NOTHING`).run(
        orderId,
        customer,
        total,
      );
      context.invalidate(orderId);
    },
    OrderPaid: (db, event, context) => {
      const { orderId } = event.data as unknown as Data<'OrderPaid'>;
      db.prepare(`UPDATE ${context.table('orders')} SET status = 'paid' WHERE order_id = ?`).run(orderId);
      context.invalidate(orderId);
    },
    OrderShipped: (db, event, context) => {
      const { orderId, trackingId } = event.data as unknown as Data<'OrderShipped'>;
      db.prepare(`UPDATE ${context.table('orders')} SET status = 'shipped', tracking_id = ? WHERE order_id = ?`).run(trackingId, orderId);
      context.invalidate(orderId);
    },
    OrderCancelled: (db, event, context) => {
      const { orderId } = event.data as unknown as Data<'OrderCancelled'>;
      db.prepare(`UPDATE ${context.table('orders')} SET status = 'cancelled' WHERE order_id = ?`).run(orderId);
      context.invalidate(orderId);
    },
  },
});

/** An order as queries see it (the active build), or undefined. */
export const readOrder = (db: Database.Database, orderId: string): OrderRow | undefined =>
  db
    .prepare('SELECT order_id AS orderId, customer, total, status, tracking_id AS trackingId FROM orders WHERE order_id = ?')
    .get(orderId) as OrderRow | undefined;
