/**
 * The SQLite schema, as numbered migrations recorded in `PRAGMA user_version`. A migration, once
 * released, never changes: add a new one.
 *
 * `events` is the log: one row per event, its position the primary key, so `$all` is a range scan.
 * `streams` holds each stream's last revision (kept through soft deletes so revisions continue), whether
 * it has visible events, its tombstone and its metadata. `log` keeps the last position ever given, so
 * positions are never reused when the newest events are deleted.
 *
 * Consumer groups (migration 3): `groups` holds each group's settings, the last source position read and
 * a replay under way; `group_entries` the unsettled events read ahead, with their attempts and leases (a
 * settled entry is deleted); `group_parked`, `group_consumers` and `group_settles` (per second, for the
 * rate) the rest. AUTOINCREMENT keeps group ids and entry numbers from ever being given twice, so a
 * delivery id can never come to mean another delivery.
 *
 * Snapshots (migration 4): one row per (stream, schema_version), deleted with the stream's events.
 *
 * Identity (migration 6): `store` holds the store's id, given at creation, and its epoch (DESIGN.md
 * section 11) with the head position at which the epoch began.
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
  `
  CREATE TABLE groups (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT    NOT NULL UNIQUE,
    settings      TEXT    NOT NULL,
    last_position INTEGER NOT NULL,
    replay        TEXT
  ) STRICT;

  CREATE TABLE group_entries (
    entry       INTEGER PRIMARY KEY AUTOINCREMENT,
    group_id    INTEGER NOT NULL,
    position    INTEGER NOT NULL,
    stream      TEXT    NOT NULL,
    replay      INTEGER NOT NULL,
    attempt     INTEGER NOT NULL DEFAULT 0,
    consumer    TEXT,
    lease_until INTEGER,
    due_at      INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX group_entries_new ON group_entries (group_id, entry) WHERE attempt = 0;
  CREATE INDEX group_entries_retried ON group_entries (group_id, entry) WHERE attempt > 0 AND consumer IS NULL;
  CREATE INDEX group_entries_by_stream ON group_entries (group_id, stream, entry);
  CREATE INDEX group_entries_leased ON group_entries (group_id, consumer) WHERE consumer IS NOT NULL;
  CREATE UNIQUE INDEX group_entries_live ON group_entries (group_id, position) WHERE replay = 0;

  CREATE TABLE group_parked (
    group_id  INTEGER NOT NULL,
    position  INTEGER NOT NULL,
    stream    TEXT    NOT NULL,
    reason    TEXT    NOT NULL,
    attempts  INTEGER NOT NULL,
    parked_at INTEGER NOT NULL,
    PRIMARY KEY (group_id, position)
  ) STRICT, WITHOUT ROWID;

  CREATE TABLE group_consumers (
    group_id     INTEGER NOT NULL,
    name         TEXT    NOT NULL,
    last_seen_at INTEGER NOT NULL,
    PRIMARY KEY (group_id, name)
  ) STRICT, WITHOUT ROWID;

  CREATE TABLE group_settles (
    group_id INTEGER NOT NULL,
    second   INTEGER NOT NULL,
    count    INTEGER NOT NULL,
    PRIMARY KEY (group_id, second)
  ) STRICT, WITHOUT ROWID;
  `,
  `
  CREATE TABLE snapshots (
    stream         TEXT    NOT NULL,
    schema_version INTEGER NOT NULL,
    revision       INTEGER NOT NULL,
    state          TEXT    NOT NULL,
    recorded_at    INTEGER NOT NULL,
    PRIMARY KEY (stream, schema_version)
  ) STRICT;
  `,
  // The projection registry (projection/registry/engine.ts): each runner's last report, and the requests
  // written to runners. At most one replay of a projection is open (pending or running) at a time.
  `
  CREATE TABLE projection_reports (
    name         TEXT    NOT NULL,
    runner_id    TEXT    NOT NULL,
    report       TEXT    NOT NULL,
    heartbeat_at INTEGER NOT NULL,
    PRIMARY KEY (name, runner_id)
  ) STRICT, WITHOUT ROWID;

  CREATE TABLE projection_requests (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id TEXT    NOT NULL UNIQUE,
    name       TEXT    NOT NULL,
    kind       TEXT    NOT NULL,
    options    TEXT    NOT NULL,
    state      TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    claimed_by TEXT,
    error      TEXT,
    progress   TEXT
  ) STRICT;
  CREATE UNIQUE INDEX projection_requests_open_replay ON projection_requests (name)
    WHERE kind = 'replay' AND state IN ('pending', 'running');
  CREATE INDEX projection_requests_by_name ON projection_requests (name, seq);
  `,
  `
  CREATE TABLE store (
    singleton   INTEGER PRIMARY KEY CHECK (singleton = 1),
    store_id    TEXT    NOT NULL,
    epoch       INTEGER NOT NULL,
    epoch_start INTEGER NOT NULL
  ) STRICT;
  INSERT INTO store VALUES (1, lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-a'
    || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6))), 1, 0);
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
