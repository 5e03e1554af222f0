import { openEventStore } from '../../engines/open.js';
import { createSqliteReadModel, type SqliteReadModel } from '../../engines/sqlite/read-model.js';
import { createMemoryReadModel, type MemoryReadModel } from '../memory-read-model.js';
import { customerTotals, memoryCustomerTotals, totalsRows } from '../testing/customer-totals.js';
import { describeReadModelConformance, type TotalsRow } from './read-model-suite.js';

describeReadModelConformance('memory', {
  open: async () => {
    const model: MemoryReadModel = createMemoryReadModel();
    return { model, dispose: () => model.close() };
  },
  totals: (options) => memoryCustomerTotals(options ?? {}),
  rows: async (model, table = 'totals') =>
    [...model.db.table<TotalsRow>(table).values()].sort((a, b) => a.customer.localeCompare(b.customer)),
  openStore: () => openEventStore({ engine: 'memory' }),
  hasTable: async (model, name) => model.db.table(name).size > 0,
});

describeReadModelConformance('sqlite', {
  open: async () => {
    const model: SqliteReadModel = createSqliteReadModel(':memory:');
    return { model, dispose: () => model.close() };
  },
  totals: (options) => customerTotals(options),
  rows: async (model, table = 'totals') =>
    table === 'totals'
      ? (totalsRows(model.db) as TotalsRow[])
      : (model.db.prepare(`SELECT customer, total, orders FROM "${table}" ORDER BY customer`).all() as TotalsRow[]),
  openStore: () => openEventStore({ engine: 'memory' }),
  hasTable: async (model, name) =>
    model.db.prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?").pluck().get(name) === 1,
});
