/**
 * The PostgreSQL that tests run against: the local server, or `ANNALS_PG_URL`. Each store a test opens
 * lives in a fresh schema that is dropped when the store closes. When the server is unreachable the tests
 * skip with a loud warning, except in CI (`CI=true`), where they fail.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { createEventStore } from '../../../store/create-store.js';
import type { EngineCore } from '../../../store/engine.js';
import type { EventStore } from '../../../store/event-store.js';
import { openPostgresEngine, type PostgresEngineOptions } from '../engine.js';

export const postgresTestUrl = (): string => process.env.ANNALS_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

let probe: Promise<string | undefined> | undefined;

/** Why PostgreSQL does not answer, or undefined when it does. */
export const postgresUnreachable = async (): Promise<string | undefined> => {
  const client = new pg.Client({ connectionString: postgresTestUrl(), connectionTimeoutMillis: 3000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message || error.name : String(error);
  } finally {
    await client.end().catch(() => undefined);
  }
};

/** Why PostgreSQL tests cannot run here, or undefined when they can. Throws in CI when unreachable. */
export const postgresSkipReason = async (): Promise<string | undefined> => {
  probe ??= postgresUnreachable();
  const failure = await probe;
  if (failure === undefined) return undefined;
  const reason = `PostgreSQL is unreachable at ${postgresTestUrl()} (${failure}); set ANNALS_PG_URL to run these tests`;
  if (process.env.CI === 'true') throw new Error(`${reason}. CI requires PostgreSQL.`);
  console.warn(`\n!!! SKIPPING PostgreSQL tests: ${reason} !!!\n`);
  return reason;
};

export const freshSchema = (): string => `annals_test_${randomUUID().replaceAll('-', '').slice(0, 20)}`;

export const dropSchema = async (schema: string): Promise<void> => {
  const client = new pg.Client({ connectionString: postgresTestUrl() });
  client.on('error', () => undefined);
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
};

/** An engine in a fresh schema (or in `schema`, to share one); `drop` removes the schema. */
export const openTestPostgresEngine = async (
  options: Partial<PostgresEngineOptions> = {},
): Promise<{ engine: EngineCore; schema: string; drop: () => Promise<void> }> => {
  const schema = options.schema ?? freshSchema();
  const engine = await openPostgresEngine({ poolSize: 4, ...options, url: postgresTestUrl(), schema });
  return { engine, schema, drop: () => dropSchema(schema) };
};

/** How to close a test store without dropping its schema, for `reopenTestPostgresStore`. */
const keepers = new WeakMap<EventStore, () => Promise<string>>();

/** A store in a fresh schema (or in `schema`), dropped when the store closes. */
export const openTestPostgresStore = async (schema?: string): Promise<EventStore> => {
  const { engine, schema: opened, drop } = await openTestPostgresEngine(schema === undefined ? {} : { schema });
  const store = createEventStore(engine);
  const test: EventStore = {
    ...store,
    async close() {
      try {
        await store.close();
      } finally {
        await drop();
      }
    },
  };
  keepers.set(test, async () => {
    await store.close();
    return opened;
  });
  return test;
};

/** Closes a store of `openTestPostgresStore` and opens its schema again: a server restart. */
export const reopenTestPostgresStore = async (store: EventStore): Promise<EventStore> => {
  const closeKeepingSchema = keepers.get(store);
  if (closeKeepingSchema === undefined) throw new Error('reopenTestPostgresStore takes a store of openTestPostgresStore');
  return openTestPostgresStore(await closeKeepingSchema());
};
