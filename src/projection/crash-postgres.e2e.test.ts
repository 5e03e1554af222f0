/**
 * Crash test on PostgreSQL: a consumer process runs a projection into a PostgreSQL read model (a fresh
 * schema) while orders keep coming, and is killed with SIGKILL at random moments (seeded; the seed is
 * printed, `ANNALS_SEED` replays it), during live load and during rebuilds it was told to start, then
 * started again. At the end the read model equals a clean rebuild from the log: no event lost, none applied
 * twice, and the views point at a whole build. Skips loudly outside CI when PostgreSQL is unreachable.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { openEventStore } from '../engines/open.js';
import { createPostgresReadModel } from '../engines/postgres/read-model.js';
import { dropSchema, freshSchema, postgresSkipReason, postgresTestUrl } from '../engines/postgres/testing/test-database.js';
import { serveForTest } from '../server/testing/serve.js';
import { seededRandom, withSeed } from '../testing/seed.js';
import { runProjection } from './run.js';
import { placeOrdersUntil, postgresCustomerTotals, postgresTotalsRows } from './testing/customer-totals.js';

const consumer = fileURLToPath(new URL('./testing/postgres-projection-process.ts', import.meta.url));
const rounds = Number(process.env.ANNALS_CRASH_ROUNDS ?? 6);
const skip = await postgresSkipReason();

const startConsumer = async (url: string, schema: string, { batch, rebuild }: { batch: boolean; rebuild: boolean }) => {
  const child = spawn(process.execPath, ['--import', 'tsx', consumer, url, postgresTestUrl(), schema, ...(batch ? ['batch'] : [])], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ANNALS_PROJECTION_REBUILD: rebuild ? '1' : '0' },
  });
  const exited = once(child, 'exit');
  const lines = createInterface({ input: child.stdout! });
  const said = new Set<string>();
  const first = new Promise<string | undefined>((resolve) => {
    lines.on('line', (line) => (said.add(line), resolve(line)));
    void exited.then(() => resolve(undefined));
  });
  assert.equal(await first, 'ready', 'the consumer did not start');
  return { child, exited, said };
};

describe('projections on PostgreSQL, crashed', { skip }, () => {
  it(
    'a consumer killed at random moments, live and while rebuilding, ends with the read model of a clean rebuild',
    { timeout: 180_000 },
    () =>
      withSeed(import.meta.url, async (seed) => {
        console.log(`seed ${seed} (replay with ANNALS_SEED=${seed})`);
        const random = seededRandom(seed);
        const { client: store, url } = await serveForTest(await openEventStore({ engine: 'memory' }));
        const schema = freshSchema();
        const checker = new pg.Client({ connectionString: postgresTestUrl() });
        await checker.connect();
        /** The active build's checkpoint, read beside the consumer. */
        const checkpoint = async (): Promise<bigint> => {
          const { rows } = await checker
            .query<{ position: string }>(`SELECT position::text AS position FROM "${schema}".annals_builds WHERE name = $1 AND active`, [
              'customer-totals',
            ])
            .catch(() => ({ rows: [] as { position: string }[] }));
          return BigInt(rows[0]?.position ?? 0);
        };
        /** How many builds the read model holds: a rebuild cut short is resumed, and what it replaced dropped. */
        const builds = async (): Promise<number> =>
          Number((await checker.query<{ count: string }>(`SELECT count(*) FROM "${schema}".annals_builds`)).rows[0]?.count ?? 0);
        let placed = 0;
        let rebuilds = 0;
        try {
          for (let round = 0; round < rounds; round++) {
            const rebuild = round % 2 === 1 || random() < 0.3;
            rebuilds += rebuild ? 1 : 0;
            const { child, exited } = await startConsumer(url, schema, { batch: random() < 0.5, rebuild });
            const killAt = Date.now() + 50 + random() * (rebuild ? 1500 : 400);
            placed = await placeOrdersUntil(store, placed, killAt, random);
            child.kill('SIGKILL');
            await exited;
            const { rows } = await checker.query<{ builds: string }>(
              `SELECT string_agg(build || CASE WHEN active THEN '*' ELSE '' END || '@' || position, ' ' ORDER BY build) AS builds
               FROM "${schema}".annals_builds`,
            );
            console.log(
              `round ${round}${rebuild ? ', rebuilding' : ''}: killed with builds ${rows[0]?.builds ?? 'none'} (* active), ${placed} placed`,
            );
          }
          // Last, a rebuild that finishes: the views must move to a whole build that went on to the head.
          const { child, exited, said } = await startConsumer(url, schema, { batch: random() < 0.5, rebuild: true });
          const head = (await store.stats()).headPosition;
          for (let waited = 0; !said.has('rebuilt') || (await checkpoint()) < head || (await builds()) > 1; waited += 20) {
            assert.ok(
              waited < 60_000,
              `the consumer stopped at ${await checkpoint()} of ${head} (rebuilt: ${said.has('rebuilt')}, builds: ${await builds()})`,
            );
            await sleep(20);
          }
          child.kill('SIGKILL');
          await exited;

          const cleanSchema = freshSchema();
          const clean = createPostgresReadModel({ url: postgresTestUrl(), schema: cleanSchema });
          const crashed = createPostgresReadModel({ url: postgresTestUrl(), schema });
          try {
            const runner = runProjection(store, postgresCustomerTotals({ batch: true }), clean);
            while (runner.status().position < head) {
              assert.notEqual(runner.status().state, 'failed', runner.status().lastError?.message ?? 'failed');
              await sleep(10);
            }
            await runner.close();
            const rows = await postgresTotalsRows(crashed);
            assert.deepEqual(rows, await postgresTotalsRows(clean));
            assert.equal(
              rows.reduce((sum, row) => sum + row.orders, 0),
              placed,
              'every order counted once',
            );
            assert.ok(rebuilds > 0, 'some rounds were killed while rebuilding');
          } finally {
            await clean.close();
            await crashed.close();
            await dropSchema(cleanSchema);
          }
        } finally {
          await checker.end();
          await store.close();
          await dropSchema(schema);
        }
      }),
  );
});
