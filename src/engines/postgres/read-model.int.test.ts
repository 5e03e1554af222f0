import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pg from 'pg';
import { openEventStore } from '../open.js';
import { describeReadModelConformance } from '../../projection/conformance/read-model-suite.js';
import { postgresCustomerTotals, postgresTotalsRows } from '../../projection/testing/customer-totals.js';
import { createPostgresReadModel, type PostgresReadModel, type PostgresReadModelDb } from './read-model.js';
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

describe('postgres read model, its own', { skip }, () => {
  it('read models of one schema opening a projection at once find one build', async () => {
    const schema = freshSchema();
    const models = Array.from({ length: 4 }, () => createPostgresReadModel({ url: postgresTestUrl(), schema, poolSize: 2 }));
    try {
      const opened = await Promise.all(models.map((model) => model.open(postgresCustomerTotals())));
      assert.deepEqual(new Set(opened.map((build) => build.build)).size, 1);
      assert.equal((await models[0]!.builds('customer-totals')).length, 1);
    } finally {
      await Promise.all(models.map((model) => model.close()));
      await dropSchema(schema);
    }
  });

  it("works on the caller's pool, which it leaves open, and names tables in its schema", async () => {
    const schema = freshSchema();
    const pool = new pg.Pool({ connectionString: postgresTestUrl(), max: 2 });
    const model = createPostgresReadModel({ pool, schema });
    try {
      const projection = postgresCustomerTotals({ batch: true });
      const build = await model.open(projection);
      const context = { ...model.context(build), replay: false, invalidate: () => undefined };
      const insert = (db: PostgresReadModelDb) =>
        db.query(`INSERT INTO ${context.table('totals')} VALUES ('c0', 5, 1)`).then(() => undefined);
      assert.ok(await model.commit(build, 0n, 1n, insert));
      assert.deepEqual(await postgresTotalsRows(model), [{ customer: 'c0', total: 5, orders: 1 }]);
      const { rows } = await pool.query(`SELECT count(*)::int AS n FROM "${schema}".totals`);
      assert.equal(rows[0].n, 1);
      await model.close();
      assert.equal((await pool.query('SELECT 1 AS one')).rows[0].one, 1, 'the pool is still open');
    } finally {
      await pool.end();
      await dropSchema(schema);
    }
  });

  it('refuses a schema name it cannot quote safely', () => {
    assert.throws(() => createPostgresReadModel({ url: postgresTestUrl(), schema: 'Read"Model' }), /schema must be/);
  });
});
