/**
 * A consumer service for the PostgreSQL crash test: runs the customer-totals projection from an Annals
 * server into a PostgreSQL read model, until killed.
 * `postgres-projection-process.ts <url> <postgres url> <schema> [batch]`; prints `ready` once running.
 * With `batch`, the projection writes each batch through `handleBatch`. With `ANNALS_PROJECTION_REBUILD=1`
 * it also rebuilds the projection after starting (or, when it resumed a rebuild cut short, lets that one
 * finish), and prints `rebuilt` once switched.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { connect } from '../../client/connect.js';
import { createPostgresReadModel } from '../../engines/postgres/read-model.js';
import { runProjection } from '../run.js';
import { postgresCustomerTotals } from './customer-totals.js';

const [url, postgresUrl, schema, batch] = process.argv.slice(2) as [string, string, string, string | undefined];
const store = connect(url);
const model = createPostgresReadModel({ url: postgresUrl, schema, poolSize: 3 });
const runner = runProjection(store, postgresCustomerTotals({ batch: batch === 'batch' }), model, { batchSize: 50 });
if (process.env.ANNALS_PROJECTION_REBUILD === '1') {
  void (async () => {
    try {
      await runner.rebuild();
    } catch (error) {
      // A rebuild cut short by a kill is resumed at start: wait for that one instead.
      console.error(`rebuild: ${error instanceof Error ? error.message : String(error)}`);
      while (runner.status().rebuild !== undefined) await sleep(20);
    }
    if (runner.status().lastError === undefined) console.log('rebuilt');
  })();
}
console.log('ready');
await runner.done;
console.error(JSON.stringify(runner.status(), (_, value: unknown) => (typeof value === 'bigint' ? String(value) : value)));
process.exit(1);
