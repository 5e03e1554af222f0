/**
 * The SQLite schema, as numbered migrations recorded in `PRAGMA user_version`. A migration, once
 * released, never changes: add a new one.
 *
 * `events` is the log: one row per event, its position the primary key, so `$all` is a range scan.
 * `streams` holds each stream's last revision (kept through soft deletes so revisions continue), whether
 * it has visible events, its tombstone and its metadata. `log` keeps the last position ever given, so
 * positions are never reused when the newest events are deleted.
 */
import type Database from 'better-sqlite3';

const migrations: string[] = [
  `
  CREATE TABLE events (
    position    INTEGER PRIMARY KEY,
    stream      TEXT    NOT NULL,
    revision    INTEGER NOT NULL,
    id          TEXT    NOT NULL,
    type        TEXT    NOT NULL,
    data        TEXT    NOT NULL,
    metadata    TEXT,
    recorded_at INTEGER NOT NULL
  ) STRICT;
  CREATE UNIQUE INDEX events_by_stream ON events (stream, revision);
  CREATE UNIQUE INDEX events_by_id ON events (id);

  CREATE TABLE streams (
    name       TEXT    PRIMARY KEY,
    revision   INTEGER NOT NULL,
    live       INTEGER NOT NULL,
    tombstoned INTEGER NOT NULL DEFAULT 0,
    metadata   TEXT
  ) STRICT, WITHOUT ROWID;

  CREATE TABLE log (
    singleton     INTEGER PRIMARY KEY CHECK (singleton = 1),
    last_position INTEGER NOT NULL
  ) STRICT;
  INSERT INTO log VALUES (1, 0);
  `,
  // The streams that have an ACL, found without reading every stream.
  `
  CREATE INDEX streams_with_acl ON streams (name) WHERE json_extract(metadata, '$.acl') IS NOT NULL;
  `,
];

export const schemaVersion = migrations.length;

/** Brings the database up to the newest schema; must run inside the writer's exclusive lock. */
export const migrate = (db: Database.Database): void => {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > schemaVersion) {
    throw new Error(`database schema version ${current} is newer than this Annals (${schemaVersion}); upgrade Annals`);
  }
  db.transaction(() => {
    for (const sql of migrations.slice(current)) db.exec(sql);
    db.pragma(`user_version = ${schemaVersion}`);
  }).immediate();
};
