/**
 * A consumer service for the crash test: runs the customer-totals projection from an Annals server into a
 * SQLite read model file, until killed. `projection-process.ts <url> <model.db>`; prints `ready` once running.
 */
import { connect } from '../../client/connect.js';
import { createSqliteReadModel } from '../../engines/sqlite/read-model.js';
import { runProjection } from '../run.js';
import { customerTotals } from './customer-totals.js';

const [url, path] = process.argv.slice(2) as [string, string];
const store = connect(url);
const model = createSqliteReadModel(path);
const runner = runProjection(store, customerTotals(), model, { batchSize: 50 });
console.log('ready');
await runner.done;
console.error(JSON.stringify(runner.status(), (_, value: unknown) => (typeof value === 'bigint' ? String(value) : value)));
process.exit(1);
