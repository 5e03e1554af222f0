import { describe } from 'node:test';
import { openEventStore } from '../open.js';
import { describeReadModelConformance } from '../../projection/conformance/read-model-suite.js';
import { postgresCustomerTotals, postgresTotalsRows } from '../../projection/testing/customer-totals.js';
import { createPostgresReadModel, type PostgresReadModel } from './read-model.js';
import { dropSchema, freshSchema, postgresSkipReason, postgresTestUrl } from './testing/test-database.js';

const skip = await postgresSkipReason();

const subject = (batch: boolean) => ({
  open: async () => {
    const schema = freshSchema();
    const model: PostgresReadModel = createPostgresReadModel({ url: postgresTestUrl(), schema });
    return {
      model,
      dispose: async () => {
        await model.close();
        await dropSchema(schema);
      },
    };
  },
  totals: (options = {}) => postgresCustomerTotals({ ...options, batch }),
  rows: (model: PostgresReadModel, table?: string) => postgresTotalsRows(model, table),
  openStore: () => openEventStore({ engine: 'memory' }),
  hasTable: async (model: PostgresReadModel, name: string) =>
    (await model.query('SELECT FROM pg_tables WHERE schemaname = $1 AND tablename = $2', [model.schema, name])).length === 1,
});

describe('postgres read model', { skip }, () => {
  describeReadModelConformance('postgres, a handler per event', subject(false));
  describeReadModelConformance('postgres, a handler per batch', subject(true));
});
