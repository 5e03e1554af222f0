/**
 * A read model in a PostgreSQL schema (`annals_read` by default; created when missing). Handlers get a
 * small handle, `db.query(text, values)`, bound to the connection of the batch's transaction: plain,
 * parameterised SQL, awaited. Each build of a projection has its own tables (named through
 * `context.table`, unqualified: the transaction's `search_path` is the read model's schema) and a
 * checkpoint row in `annals_builds`, moved by compare-and-set in the transaction of the changes. Queries
 * read views named as the tables, which point at the active build; switching builds drops and creates the
 * views in one transaction, with the serving build's row locked so that its checkpoint cannot move during
 * the switch. Builds are created, switched and dropped under a transaction-level advisory lock on the
 * schema, so two processes that open a projection at once find one build.
 *
 * Each `db.query` is a round trip; statements with parameters are prepared once per connection (by their
 * text) and then only bound and run. A projection that declares `handleBatch` writes a whole batch with a
 * few set-based statements (`INSERT ... SELECT FROM unnest($1::text[], ...)`), which is how a rebuild
 * gets fast on PostgreSQL.
 */
import pg from 'pg';
import { buildContext } from '../../projection/build-context.js';
import type { Build, Projection, ReadModel } from '../../projection/model.js';
import { ConflictError } from '../../store/errors.js';
import { schemaNames } from './migrations.js';
import { checkPostgresUrl, translateError } from './unavailable.js';

export interface PostgresQueryResult<Row> {
  rows: Row[];
  /** Rows that the statement inserted, updated, deleted or returned. */
  rowCount: number;
}

/** What handlers and `init` get: queries on the connection of the build's transaction. */
export interface PostgresReadModelDb {
  query<Row extends Record<string, unknown> = Record<string, unknown>>(
    text: string,
    values?: readonly unknown[],
  ): Promise<PostgresQueryResult<Row>>;
}

export interface PostgresReadModelOptions {
  /** `postgres://user@host:port/database`; the read model opens its own pool. Give this or `pool`. */
  url?: string;
  /** A pool of the caller's, used as it is and left open by `close`. */
  pool?: pg.Pool;
  /** The schema that holds the builds, their tables and the views; created when missing. Default `annals_read`. */
  schema?: string;
  /** Connections of a pool opened from `url`. Default 4. */
  poolSize?: number;
}

export type PostgresReadModel = ReadModel<PostgresReadModelDb> & {
  readonly pool: pg.Pool;
  readonly schema: string;
  /**
   * A query outside any build's transaction, for reads: tables by their plain names (the views of the
   * active builds) resolve in the read model's schema.
   */
  query<Row extends Record<string, unknown> = Record<string, unknown>>(text: string, values?: readonly unknown[]): Promise<Row[]>;
};

/** An error of a build's `apply` (a handler's), which reaches the caller as it is. */
class Untranslated {
  constructor(readonly error: unknown) {}
}

type BuildRow = { name: string; build: number; version: number; position: string; active: boolean; tables: string[] };

/** Keys the advisory lock of a read model's schema ("ANNR"), beside the name's hash. */
const lockClass = 0x414e4e52;

/**
 * Names of prepared statements, by SQL text, shared by the process's read models so that a name always
 * means one text: a statement with parameters is parsed and planned once per connection, then only bound
 * and run. At most `preparedTexts` texts are named (the server keeps each on each connection); the rest,
 * such as SQL built with a varying number of parameters, run unnamed.
 */
const statementNames = new Map<string, string>();
const preparedTexts = 256;
const statementName = (text: string, values: readonly unknown[]): string | undefined => {
  if (values.length === 0) return undefined;
  let name = statementNames.get(text);
  if (name === undefined && statementNames.size < preparedTexts) {
    name = `annals_read_${statementNames.size + 1}`;
    statementNames.set(text, name);
  }
  return name;
};

export const createPostgresReadModel = (options: PostgresReadModelOptions): PostgresReadModel => {
  const { schema, s } = schemaNames(options.schema ?? 'annals_read');
  const searchPath = `SET LOCAL search_path TO ${s}, public`;
  let pool: pg.Pool;
  const owned = options.pool === undefined;
  if (options.pool !== undefined) pool = options.pool;
  else {
    checkPostgresUrl(options.url);
    pool = new pg.Pool({
      connectionString: options.url,
      max: options.poolSize ?? 4,
      application_name: 'annals-read-model',
      idle_in_transaction_session_timeout: 60_000,
      keepAlive: true,
      options: `-c search_path=${schema},public -c jit=off`,
    });
    pool.on('error', () => undefined);
  }

  /** Runs `work` in one transaction on one connection; a throw rolls it back and reaches the caller. */
  const transaction = async <T>(doing: string, work: (client: pg.PoolClient) => Promise<T>, structural = false): Promise<T> => {
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (error) {
      throw translateError(error, doing);
    }
    try {
      await client.query(`BEGIN; ${searchPath}`);
      if (structural) await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [lockClass, schema]);
      const result = await work(client);
      await client.query('COMMIT');
      client.release();
      return result;
    } catch (error) {
      const broken = await client.query('ROLLBACK').then(
        () => false,
        () => true,
      );
      client.release(broken);
      throw error instanceof Untranslated ? error.error : translateError(error, doing);
    }
  };

  let ready: Promise<void> | undefined;
  let closed = false;
  const setUp = () =>
    (ready ??= transaction(
      'creating the read model',
      async (client) => {
        await client.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
        await client.query(`CREATE TABLE IF NOT EXISTS ${s}.annals_builds (
          name     text    NOT NULL,
          build    int     NOT NULL,
          version  int     NOT NULL,
          position bigint  NOT NULL,
          active   boolean NOT NULL,
          tables   text[]  NOT NULL,
          PRIMARY KEY (name, build)
        )`);
        await client.query(`CREATE UNIQUE INDEX IF NOT EXISTS annals_builds_active ON ${s}.annals_builds (name) WHERE active`);
      },
      true,
    ).catch((error: unknown) => {
      ready = undefined;
      throw error;
    }));

  const columns = `name, build, version, position::text AS position, active, tables`;
  const buildOf = (row: BuildRow): Build => ({
    name: row.name,
    build: row.build,
    version: row.version,
    position: BigInt(row.position),
    active: row.active,
  });
  const dbOf = (client: pg.PoolClient): PostgresReadModelDb => ({
    async query<Row extends Record<string, unknown>>(text: string, values: readonly unknown[] = []) {
      const name = statementName(text, values);
      const result = await client.query<Row>(
        name === undefined ? { text, values: values as unknown[] } : { name, text, values: values as unknown[] },
      );
      return { rows: result.rows, rowCount: result.rowCount ?? 0 };
    },
  });
  const one = async (client: pg.PoolClient, where: string, values: unknown[], lock = false): Promise<BuildRow | undefined> =>
    (await client.query<BuildRow>(`SELECT ${columns} FROM ${s}.annals_builds WHERE ${where}${lock ? ' FOR UPDATE' : ''}`, values)).rows[0];

  /** Points the views named as the build's tables at it (`at`), or removes them. */
  const pointViews = async (client: pg.PoolClient, row: BuildRow, at: boolean) => {
    const context = buildContext(buildOf(row));
    for (const table of row.tables) {
      if (at) {
        const owner = await client.query<{ name: string }>(
          `SELECT name FROM ${s}.annals_builds WHERE active AND name <> $1 AND $2 = ANY (tables)`,
          [row.name, table],
        );
        if (owner.rows[0] !== undefined) {
          throw new ConflictError(`table '${table}' of projection '${row.name}' is already projection '${owner.rows[0].name}''s`);
        }
      }
      await client.query(`DROP VIEW IF EXISTS ${s}."${table}"`);
      if (at) await client.query(`CREATE VIEW ${s}."${table}" AS SELECT * FROM ${s}."${context.table(table)}"`);
    }
  };

  const createBuild = async (client: pg.PoolClient, projection: Projection<PostgresReadModelDb>): Promise<Build> => {
    const { rows } = await client.query<{ build: number }>(`SELECT coalesce(max(build), 0) + 1 AS build FROM ${s}.annals_builds`);
    const build = rows[0]!.build;
    const context = buildContext({ build });
    await projection.init(dbOf(client), context);
    const named = [...context.named];
    const tables = await client.query<{ name: string }>(
      `SELECT n AS name FROM unnest($1::text[]) AS n WHERE EXISTS (SELECT FROM pg_tables WHERE schemaname = $2 AND tablename = n || $3)`,
      [named, schema, `__${build}`],
    );
    const active = (await one(client, 'name = $1 AND active', [projection.name])) === undefined;
    const inserted = await client.query<BuildRow>(
      `INSERT INTO ${s}.annals_builds (name, build, version, position, active, tables) VALUES ($1, $2, $3, 0, $4, $5) RETURNING ${columns}`,
      [projection.name, build, projection.version, active, tables.rows.map((row) => row.name)],
    );
    const row = inserted.rows[0]!;
    if (active) await pointViews(client, row, true);
    return buildOf(row);
  };

  return {
    pool,
    schema,
    async query<Row extends Record<string, unknown>>(text: string, values: readonly unknown[] = []) {
      await setUp();
      try {
        if (owned) return (await pool.query<Row>(text, values as unknown[])).rows;
        return await transaction('querying the read model', async (client) => (await client.query<Row>(text, values as unknown[])).rows);
      } catch (error) {
        throw translateError(error, 'querying the read model');
      }
    },
    async builds(name) {
      await setUp();
      try {
        const { rows } = await pool.query<BuildRow>(`SELECT ${columns} FROM ${s}.annals_builds WHERE name = $1 ORDER BY build`, [name]);
        return rows.map(buildOf);
      } catch (error) {
        throw translateError(error, 'reading the builds');
      }
    },
    async open(projection) {
      await setUp();
      return transaction(
        `opening projection '${projection.name}'`,
        async (client) => {
          const active = await one(client, 'name = $1 AND active', [projection.name]);
          if (active !== undefined && active.version === projection.version) return buildOf(active);
          const newest = await one(client, 'name = $1 AND version = $2 ORDER BY build DESC LIMIT 1', [projection.name, projection.version]);
          return newest === undefined ? createBuild(client, projection) : buildOf(newest);
        },
        true,
      );
    },
    async create(projection) {
      await setUp();
      return transaction(`creating a build of projection '${projection.name}'`, (client) => createBuild(client, projection), true);
    },
    async commit(build, from, to, apply) {
      await setUp();
      return transaction(`committing projection '${build.name}'`, async (client) => {
        const moved = await client.query(`UPDATE ${s}.annals_builds SET position = $1 WHERE name = $2 AND build = $3 AND position = $4`, [
          String(to),
          build.name,
          build.build,
          String(from),
        ]);
        if (moved.rowCount === 0) return false;
        try {
          await apply(dbOf(client));
        } catch (error) {
          throw new Untranslated(error);
        }
        return true;
      });
    },
    async activate(build) {
      await setUp();
      return transaction(
        `switching projection '${build.name}'`,
        async (client) => {
          const row = await one(client, 'name = $1 AND build = $2', [build.name, build.build], true);
          if (row === undefined) return false;
          const serving = await one(client, 'name = $1 AND active', [build.name], true);
          if (serving !== undefined) {
            if (serving.build === row.build) return true;
            if (BigInt(serving.position) > BigInt(row.position)) return false;
            await client.query(`UPDATE ${s}.annals_builds SET active = false WHERE name = $1 AND build = $2`, [build.name, serving.build]);
            await pointViews(client, serving, false);
          }
          await client.query(`UPDATE ${s}.annals_builds SET active = true WHERE name = $1 AND build = $2`, [build.name, build.build]);
          await pointViews(client, row, true);
          return true;
        },
        true,
      );
    },
    async drop(build) {
      await setUp();
      await transaction(
        `dropping build ${build.build} of projection '${build.name}'`,
        async (client) => {
          const row = await one(client, 'name = $1 AND build = $2', [build.name, build.build], true);
          if (row === undefined) return;
          if (row.active)
            throw new ConflictError(`build ${build.build} of projection '${build.name}' serves queries: activate another first`);
          const context = buildContext(build);
          for (const table of row.tables) await client.query(`DROP TABLE IF EXISTS ${s}."${context.table(table)}"`);
          await client.query(`DELETE FROM ${s}.annals_builds WHERE name = $1 AND build = $2`, [build.name, build.build]);
        },
        true,
      );
    },
    context: buildContext,
    async close() {
      if (!owned || closed) return;
      closed = true;
      await pool.end();
    },
  };
};
