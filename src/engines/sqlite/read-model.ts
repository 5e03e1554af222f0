/**
 * A read model in a SQLite file: handlers get the better-sqlite3 `Database` itself (plain, parameterised
 * SQL with `db.prepare(...).run(...)`), and each projection version's checkpoint is a row of
 * `annals_checkpoints` in the same file, moved by compare-and-set in the transaction of the changes.
 * `db.prepare` keeps each statement by its SQL text, so a handler may prepare on every event at no cost
 * (a statement switched to `pluck`, `raw` or `expand` stays so for the next handler that prepares it).
 * WAL with `synchronous = NORMAL`: a crash may lose the last commits, but a change and its checkpoint
 * are lost together, and the runner applies those events again.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Projection, ReadModel } from '../../projection/model.js';

export type SqliteReadModel = ReadModel<Database.Database> & {
  /** The database, for queries. */
  readonly db: Database.Database;
};

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
  db.exec(`CREATE TABLE IF NOT EXISTS annals_checkpoints (
    name     TEXT    NOT NULL,
    version  INTEGER NOT NULL,
    position INTEGER NOT NULL,
    PRIMARY KEY (name, version)
  ) STRICT, WITHOUT ROWID`);
  const sql = {
    checkpoint: db
      .prepare<[string, number], { position: number | bigint }>('SELECT position FROM annals_checkpoints WHERE name = ? AND version = ?')
      .safeIntegers(),
    begin: db.prepare<[string, number]>('INSERT INTO annals_checkpoints (name, version, position) VALUES (?, ?, 0)'),
    move: db.prepare<[bigint, string, number, bigint]>(
      'UPDATE annals_checkpoints SET position = ? WHERE name = ? AND version = ? AND position = ?',
    ),
  };

  return {
    db,
    async start(projection: Projection<Database.Database>) {
      return db
        .transaction(() => {
          const found = sql.checkpoint.get(projection.name, projection.version);
          if (found !== undefined) return BigInt(found.position);
          projection.init(db);
          sql.begin.run(projection.name, projection.version);
          return 0n;
        })
        .immediate();
    },
    async commit(projection, from, to, apply) {
      return db
        .transaction(() => {
          if (sql.move.run(to, projection.name, projection.version, from).changes === 0) return false;
          apply(db);
          return true;
        })
        .immediate();
    },
    async close() {
      db.close();
    },
  };
};
