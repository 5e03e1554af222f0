/**
 * Crash test: a consumer process runs a projection into a SQLite read model while orders keep coming, and
 * is killed with SIGKILL at random moments (seeded), then started again. At the end the read model equals
 * a clean rebuild from the log: no event lost, none applied twice.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { openEventStore } from '../engines/open.js';
import { createSqliteReadModel } from '../engines/sqlite/read-model.js';
import { serveForTest } from '../server/testing/serve.js';
import { seededRandom, withSeed } from '../testing/seed.js';
import { runProjection } from './run.js';
import { customerTotals, placeOrdersUntil, totalsRows } from './testing/customer-totals.js';

const consumer = fileURLToPath(new URL('./testing/projection-process.ts', import.meta.url));
const rounds = Number(process.env.ANNALS_CRASH_ROUNDS ?? 6);
const dir = mkdtempSync(join(tmpdir(), 'annals-projection-crash-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const startConsumer = async (url: string, path: string, mode: 'live' | 'rebuild') => {
  const child = spawn(process.execPath, ['--import', 'tsx', consumer, url, path, mode], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = once(child, 'exit');
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const first = await Promise.race([lines.next(), exited.then(() => undefined)]);
  assert.equal(first?.value, 'ready', 'the consumer did not start');
  return { child, exited };
};

/** How many builds the read model holds: a rebuild cut short is resumed, never left behind. */
const buildsOf = (path: string): number => {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return db.prepare('SELECT count(*) FROM annals_builds').pluck().get() as number;
  } finally {
    db.close();
  }
};

/** The read model's checkpoint, read beside the consumer. */
const checkpointOf = (path: string): bigint => {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const row = db.prepare('SELECT position FROM annals_builds WHERE name = ? AND active = 1').safeIntegers().get('customer-totals') as
      { position: bigint } | undefined;
    return row?.position ?? 0n;
  } finally {
    db.close();
  }
};

for (const mode of ['live', 'rebuild'] as const) {
  it(
    `a consumer killed at random moments under load${mode === 'rebuild' ? ' while rebuilding' : ''} ends with the read model of a clean rebuild`,
    { timeout: 120_000 },
    () =>
      withSeed(import.meta.url, async (seed) => {
        const random = seededRandom(seed);
        const { client: store, url } = await serveForTest(await openEventStore({ engine: 'memory' }));
        const path = join(dir, `model-${mode}.db`);
        let placed = 0;
        try {
          for (let round = 0; round < rounds; round++) {
            const { child, exited } = await startConsumer(url, path, mode);
            const killAt = Date.now() + 50 + random() * 400;
            placed = await placeOrdersUntil(store, placed, killAt, random);
            child.kill('SIGKILL');
            await exited;
          }
          const { child, exited } = await startConsumer(url, path, 'live');
          const head = (await store.stats()).headPosition;
          for (let waited = 0; checkpointOf(path) < head || buildsOf(path) > 1; waited += 20) {
            assert.ok(waited < 30_000, `the consumer stopped at ${checkpointOf(path)} of ${head}`);
            await sleep(20);
          }
          child.kill('SIGKILL');
          await exited;

          const rebuilt = createSqliteReadModel(':memory:');
          const runner = runProjection(store, customerTotals(), rebuilt);
          while (runner.status().position < head) await sleep(10);
          await runner.close();
          const crashed = new Database(path, { readonly: true });
          try {
            assert.deepEqual(totalsRows(crashed), totalsRows(rebuilt.db));
            const [orders] = crashed.prepare('SELECT sum(orders) AS orders FROM totals').all() as [{ orders: number }];
            assert.equal(orders.orders, placed, 'every order counted once');
          } finally {
            crashed.close();
            await rebuilt.close();
          }
        } finally {
          await store.close();
        }
      }),
  );
}
