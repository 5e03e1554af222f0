/**
 * A read model in a SQLite file: handlers get the better-sqlite3 `Database` itself (plain, parameterised
 * SQL with `db.prepare(...).run(...)`). Each build of a projection has its own tables (named through
 * `context.table`) and a checkpoint row in `annals_builds`, moved by compare-and-set in the transaction of
 * the changes. Queries read views named as the tables, which point at the active build; switching builds
 * replaces the views in one transaction, so a query sees the old build or the new one, never neither.
 * `db.prepare` keeps each statement by its SQL text, so a handler may prepare on every event at no cost
 * (a statement switched to `pluck`, `raw` or `expand` stays so for the next handler that prepares it).
 * WAL with `synchronous = NORMAL`: a crash may lose the last commits, but a change and its checkpoint
 * are lost together, and the runner applies those events again.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { buildContext, synchronously } from '../../projection/build-context.js';
import type { Build, Projection, ReadModel } from '../../projection/model.js';
import { ConflictError } from '../../store/errors.js';

export type SqliteReadModel = ReadModel<Database.Database> & {
  /** The database, for queries. */
  readonly db: Database.Database;
};

type BuildRow = { name: string; build: number; version: number; position: bigint; active: bigint; tables: string };

export const createSqliteReadModel = (path: string): SqliteReadModel => {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  const statements = new Map<string, Database.Statement>();
  const prepare = db.prepare.bind(db);
  db.prepare = ((source: string) => {
    let statement = statements.get(source);
    if (statement === undefined) {
      statement = prepare(source);
      statements.set(source, statement);
    }
    return statement;
  }) as typeof db.prepare;
  db.exec(`CREATE TABLE IF NOT EXISTS annals_builds (
    name     TEXT    NOT NULL,
    build    INTEGER NOT NULL,
    version  INTEGER NOT NULL,
    position INTEGER NOT NULL,
    active   INTEGER NOT NULL,
    tables   TEXT    NOT NULL,
    PRIMARY KEY (name, build)
  ) STRICT, WITHOUT ROWID;
  CREATE UNIQUE INDEX IF NOT EXISTS annals_builds_active ON annals_builds (name) WHERE active = 1`);
  const sql = {
    builds: prepare<[string], BuildRow>('SELECT * FROM annals_builds WHERE name = ? ORDER BY build').safeIntegers(),
    build: prepare<[string, number], BuildRow>('SELECT * FROM annals_builds WHERE name = ? AND build = ?').safeIntegers(),
    active: prepare<[string], BuildRow>('SELECT * FROM annals_builds WHERE name = ? AND active = 1').safeIntegers(),
    last: prepare<[], number>('SELECT coalesce(max(build), 0) FROM annals_builds').pluck(),
    owner: prepare<[string, string], string>(
      'SELECT name FROM annals_builds, json_each(tables) WHERE active = 1 AND name != ? AND json_each.value = ?',
    ).pluck(),
    insert: prepare<[string, number, number, number, string]>(
      'INSERT INTO annals_builds (name, build, version, position, active, tables) VALUES (?, ?, ?, 0, ?, ?)',
    ),
    move: prepare<[bigint, string, number, bigint]>('UPDATE annals_builds SET position = ? WHERE name = ? AND build = ? AND position = ?'),
    setActive: prepare<[number, string, number]>('UPDATE annals_builds SET active = ? WHERE name = ? AND build = ?'),
    newest: prepare<[string, number], BuildRow>(
      'SELECT * FROM annals_builds WHERE name = ? AND version = ? ORDER BY build DESC LIMIT 1',
    ).safeIntegers(),
    remove: prepare<[string, number]>('DELETE FROM annals_builds WHERE name = ? AND build = ?'),
    isTable: prepare<[string], number>("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?").pluck(),
  };
  const buildOf = (row: BuildRow): Build => ({
    name: row.name,
    build: Number(row.build),
    version: Number(row.version),
    position: BigInt(row.position),
    active: row.active === 1n,
  });
  const tablesOf = (row: BuildRow): string[] => JSON.parse(row.tables) as string[];
  const pointViews = (row: BuildRow, at: boolean) => {
    const context = buildContext(buildOf(row));
    for (const table of tablesOf(row)) {
      const owner = at ? sql.owner.get(row.name, table) : undefined;
      if (owner !== undefined) throw new ConflictError(`table '${table}' of projection '${row.name}' is already projection '${owner}''s`);
      db.exec(`DROP VIEW IF EXISTS "${table}"`);
      if (at) db.exec(`CREATE VIEW "${table}" AS SELECT * FROM "${context.table(table)}"`);
    }
  };

  const createBuild = (projection: Projection<Database.Database>): Build => {
    const build = sql.last.get()! + 1;
    const context = buildContext({ build });
    synchronously(projection.init(db, context), `projection '${projection.name}': init`);
    const tables = [...context.named].filter((name) => sql.isTable.get(context.table(name)) === 1);
    const active = sql.active.get(projection.name) === undefined;
    sql.insert.run(projection.name, build, projection.version, active ? 1 : 0, JSON.stringify(tables));
    const row = sql.build.get(projection.name, build)!;
    if (active) pointViews(row, true);
    return buildOf(row);
  };

  return {
    db,
    async builds(name) {
      return sql.builds.all(name).map(buildOf);
    },
    async open(projection) {
      return db
        .transaction(() => {
          const active = sql.active.get(projection.name);
          if (active !== undefined && Number(active.version) === projection.version) return buildOf(active);
          const newest = sql.newest.get(projection.name, projection.version);
          return newest === undefined ? createBuild(projection) : buildOf(newest);
        })
        .immediate();
    },
    async create(projection) {
      return db.transaction(() => createBuild(projection)).immediate();
    },
    async commit(build, from, to, apply) {
      return db
        .transaction(() => {
          if (sql.move.run(to, build.name, build.build, from).changes === 0) return false;
          synchronously(apply(db), `projection '${build.name}': a handler`);
          return true;
        })
        .immediate();
    },
    async activate(build) {
      return db
        .transaction(() => {
          const row = sql.build.get(build.name, build.build);
          const serving = sql.active.get(build.name);
          if (row === undefined) return false;
          if (serving !== undefined) {
            if (serving.build === row.build) return true;
            if (serving.position > row.position) return false;
            sql.setActive.run(0, build.name, Number(serving.build));
            pointViews(serving, false);
          }
          sql.setActive.run(1, build.name, build.build);
          pointViews(row, true);
          return true;
        })
        .immediate();
    },
    async drop(build) {
      db.transaction(() => {
        const row = sql.build.get(build.name, build.build);
        if (row === undefined) return;
        if (row.active === 1n)
          throw new ConflictError(`build ${build.build} of projection '${build.name}' serves queries: activate another first`);
        const context = buildContext(build);
        for (const table of tablesOf(row)) db.exec(`DROP TABLE IF EXISTS "${context.table(table)}"`);
        sql.remove.run(build.name, build.build);
      }).immediate();
    },
    context: buildContext,
    async close() {
      db.close();
    },
  };
};
