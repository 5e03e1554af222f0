/**
 * A consumer service for the crash test: runs the customer-totals projection from an Annals server into a
 * SQLite read model file, until killed. `projection-process.ts <url> <model.db> [rebuild]`; prints `ready`
 * once running. With `rebuild`, it also rebuilds the projection, unless it resumed a rebuild cut short.
 */
import { connect } from '../../client/connect.js';
import { createSqliteReadModel } from '../../engines/sqlite/read-model.js';
import { runProjection } from '../run.js';
import { customerTotals } from './customer-totals.js';

const [url, path, mode] = process.argv.slice(2) as [string, string, string | undefined];
const store = connect(url);
const model = createSqliteReadModel(path);
const runner = runProjection(store, customerTotals(), model, { batchSize: 50 });
if (mode === 'rebuild') void runner.rebuild().catch(() => undefined);
console.log('ready');
await runner.done;
console.error(JSON.stringify(runner.status(), (_, value: unknown) => (typeof value === 'bigint' ? String(value) : value)));
process.exit(1);
