/**
 * The embedded engine: one SQLite file in WAL mode, written by one process.
 *
 * - Durability `fsync` runs with `synchronous = FULL` (every commit is fsynced: an acknowledged append
 *   survives power loss); `os` with `synchronous = NORMAL` (the WAL is fsynced at checkpoints only: an
 *   acknowledged append survives a crash of the process, not of the machine).
 * - The writer holds an exclusive lock on the file for as long as it is open, so a second process gets a
 *   clear `unavailable` error instead of corrupting the log; the OS drops the lock if the process dies.
 * - All writes go through the group-commit queue (write-queue.ts); reads run at once on committed data.
 */
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { backupDatabase, fileBytes } from './backup.js';
import Database from 'better-sqlite3';
import { createChangeFeed } from '../../store/change-feed.js';
import type { EngineCore } from '../../store/engine.js';
import { StreamDeletedError, UnavailableError, type ReadOnlyReason } from '../../store/errors.js';
import { changeOf, checkImported, checkImportedChange, idTakenError } from '../../store/importing.js';
import {
  systemStreamOf,
  type AppendResult,
  type EventRecord,
  type ExpectedRevision,
  type StoreIdentity,
  type StreamAcl,
  type StreamMetadata,
} from '../../store/model.js';
import {
  checkWrite,
  deletedEvent,
  expectationHolds,
  metadataEvent,
  nameAfterPrefix,
  replayedAppend,
  streamInfo,
  visibleWindow,
  type StoredEvent,
  type StreamState,
} from '../../store/rules.js';
import type { AllQuery, PreparedEvent, StreamQuery } from '../../store/validate.js';
import { migrate } from './migrations.js';
import { createWriteQueue } from './write-queue.js';
import { allQuerySql } from './all-query.js';
import { eventColumns, toRecord, toRecorded, type EventRow } from './columns.js';
import { createSqliteGroups } from './groups.js';
import { createSqliteSnapshots } from './snapshots.js';
import { createSqliteProjections } from './projections.js';

export interface SqliteEngineOptions {
  path: string;
  durability: 'fsync' | 'os';
  /** A disk budget for the file: writes that would grow it beyond fail with `unavailable`. */
  maxSizeBytes?: number;
}

interface StreamRow {
  revision: number;
  live: number;
  tombstoned: number;
  metadata: string | null;
}

const stateOf = (row: StreamRow | undefined): StreamState =>
  row === undefined
    ? { revision: -1, exists: false, tombstoned: false }
    : { revision: row.revision, exists: row.live === 1, tombstoned: row.tombstoned === 1 };

/** Streams whose state the writer keeps in memory, at most. */
const maxCachedStates = 100_000;

const isSqliteError = (error: unknown, code: string): boolean => error instanceof Database.SqliteError && error.code.startsWith(code);

const openDatabase = (path: string): Database.Database => {
  // The log is private, whatever the umask: folders Annals creates are its owner's only, and so is the
  // file (SQLite gives its write-ahead log the file's mode). Existing folders and files are left as they are.
  if (path !== ':memory:') {
    mkdirSync(dirname(resolve(path)), { recursive: true, mode: 0o700 });
    closeSync(openSync(path, 'a', 0o600));
  }
  const db = new Database(path, { timeout: 0 });
  try {
    // Exclusive before WAL: no shared-memory index, and the first write below takes the lock for good.
    db.pragma('locking_mode = EXCLUSIVE');
    db.pragma('journal_mode = WAL');
    migrate(db);
    return db;
  } catch (error) {
    db.close();
    if (isSqliteError(error, 'SQLITE_BUSY')) {
      throw new UnavailableError(`database file ${resolve(path)} is in use by another Annals process`, { cause: error });
    }
    throw error;
  }
};

/** What the write probe allocates: a few pages, as a small append would. */
const probeBytes = 64 * 1024;

export const openSqliteEngine = ({ path, durability, maxSizeBytes }: SqliteEngineOptions): EngineCore => {
  /** Why a failed write means the store takes no writes for now. */
  const reasonOf = (error: unknown): ReadOnlyReason | undefined => {
    const code = (error as { code?: unknown }).code;
    if (code === 'SQLITE_FULL') return maxSizeBytes === undefined ? 'disk_full' : 'disk_budget';
    return undefined;
  };
  const db = openDatabase(path);
  db.pragma(`synchronous = ${durability === 'fsync' ? 'FULL' : 'NORMAL'}`);
  db.pragma('cache_size = -65536');
  // Checkpoint every ~40 MB of WAL instead of every 4 MB: pages that many appends touch (index interiors,
  // the streams table) are copied back once per checkpoint instead of ten times; ~12% more appends/s.
  db.pragma('wal_autocheckpoint = 10000');
  if (maxSizeBytes !== undefined) {
    const pageSize = db.pragma('page_size', { simple: true }) as number;
    db.pragma(`max_page_count = ${Math.max(1, Math.floor(maxSizeBytes / pageSize))}`);
  }

  const sql = {
    stream: db.prepare<[string], StreamRow>('SELECT revision, live, tombstoned, metadata FROM streams WHERE name = ?'),
    putStream: db.prepare<[string, number, number]>(
      `INSERT INTO streams (name, revision, live) VALUES (?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET revision = excluded.revision, live = excluded.live`,
    ),
    insert: db.prepare<[number, string, number, string, string, string, string | null, number]>(
      `INSERT INTO events (${eventColumns}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    eventById: db.prepare<[string], StoredEvent & { position: number }>(
      'SELECT id, stream, revision, position, type, data, metadata FROM events WHERE id = ?',
    ),
    event: db.prepare<[string]>(`SELECT ${eventColumns} FROM events WHERE id = ?`).raw(true),
    firstRevision: db.prepare<[string], { first: number | null }>('SELECT min(revision) AS first FROM events WHERE stream = ?'),
    forwards: db
      .prepare(
        `SELECT ${eventColumns} FROM events
       WHERE stream = ? AND revision >= ? AND recorded_at >= ? ORDER BY revision LIMIT ?`,
      )
      .raw(true),
    backwards: db
      .prepare(
        `SELECT ${eventColumns} FROM events
       WHERE stream = ? AND revision <= ? AND revision >= ? AND recorded_at >= ? ORDER BY revision DESC LIMIT ?`,
      )
      .raw(true),
    deleteEvents: db.prepare<[string]>('DELETE FROM events WHERE stream = ?'),
    deleteAfter: db.prepare<[number]>('DELETE FROM events WHERE position > ?'),
    markDeleted: db.prepare<[string, number, number]>(
      `INSERT INTO streams (name, revision, live, tombstoned) VALUES (?, ?, 0, ?)
       ON CONFLICT (name) DO UPDATE SET revision = excluded.revision, live = 0, tombstoned = excluded.tombstoned`,
    ),
    putMetadata: db.prepare<[string, string]>(
      `INSERT INTO streams (name, revision, live, metadata) VALUES (?, -1, 0, ?)
       ON CONFLICT (name) DO UPDATE SET metadata = excluded.metadata`,
    ),
    streams: db
      .prepare<
        { prefix: string; after: string | null; before: string | null; limit: number },
        [string, number, number, number, number | null]
      >(
        `SELECT name, revision, live, tombstoned, (SELECT position FROM events WHERE stream = name AND revision = streams.revision)
       FROM streams
       WHERE name >= @prefix AND (@after IS NULL OR name > @after) AND (@before IS NULL OR name < @before)
         AND substr(name, 1, length(@prefix)) = @prefix AND revision >= 0
         AND (substr(name, 1, 1) <> '$' OR substr(@prefix, 1, 1) = '$')
       ORDER BY name LIMIT @limit`,
      )
      .raw(true),
    acls: db
      .prepare<[], [string, string]>(
        `SELECT name, json_extract(metadata, '$.acl') FROM streams WHERE json_extract(metadata, '$.acl') IS NOT NULL`,
      )
      .raw(true),
    saveLastPosition: db.prepare<[number]>('UPDATE log SET last_position = ?'),
    identity: db.prepare<[], { storeId: string; epoch: number; epochStart: number }>(
      'SELECT store_id AS storeId, epoch, epoch_start AS epochStart FROM store',
    ),
    setIdentity: db.prepare<[string, number, number]>('UPDATE store SET store_id = ?, epoch = ?, epoch_start = ?'),
    counts: db.prepare<[], { events: number; streams: number }>(
      `SELECT (SELECT count(*) FROM events WHERE substr(stream, 1, 1) <> '$') AS events,
              (SELECT count(*) FROM streams WHERE live = 1 AND substr(name, 1, 1) <> '$') AS streams`,
    ),
  };
  const allStatements = new Map<string, Database.Statement>();

  // This process is the only writer, so the state of the streams it writes can be kept here instead of read
  // back before each write; a rolled-back group may leave it wrong, so a rollback forgets it all.
  const states = new Map<string, StreamState>();
  const stateForWrite = (stream: string): StreamState => {
    let state = states.get(stream);
    if (state === undefined) {
      if (states.size >= maxCachedStates) states.clear();
      state = stateOf(sql.stream.get(stream));
      states.set(stream, state);
    }
    return state;
  };

  let committedPosition = db.prepare('SELECT last_position FROM log').pluck().get() as number;
  let lastPosition = committedPosition;
  const changes = createChangeFeed(BigInt(committedPosition));

  const queue = createWriteQueue(db, {
    beforeCommit: () => sql.saveLastPosition.run(lastPosition),
    afterCommit: () => {
      committedPosition = lastPosition;
      changes.advance(BigInt(committedPosition));
    },
    afterRollback: () => {
      lastPosition = committedPosition;
      states.clear();
    },
    failure: (error) => new UnavailableError(`the database failed: ${(error as Error).message}`, { cause: error, reason: reasonOf(error) }),
  });

  /** Inserts the events; if an id is taken, removes what it inserted (positions above the start) and throws. */
  const insertEvents = (stream: string, events: PreparedEvent[], state: StreamState): AppendResult => {
    const recordedAt = Date.now();
    let position = lastPosition;
    let revision = state.revision;
    try {
      for (const event of events) {
        sql.insert.run(++position, stream, ++revision, event.id, event.type, event.data, event.metadata, recordedAt);
      }
    } catch (error) {
      sql.deleteAfter.run(lastPosition);
      throw error;
    }
    sql.putStream.run(stream, revision, 1);
    states.set(stream, { revision, exists: true, tombstoned: false });
    lastPosition = position;
    return { revision, position: BigInt(position), recordedAt: new Date(recordedAt) };
  };

  const appendNow = (stream: string, events: PreparedEvent[], expected: ExpectedRevision): AppendResult => {
    const state = stateForWrite(stream);
    if (state.tombstoned) throw new StreamDeletedError(stream);
    if (expectationHolds(expected, state)) {
      try {
        return insertEvents(stream, events, state);
      } catch (error) {
        if (!isSqliteError(error, 'SQLITE_CONSTRAINT')) throw error;
      }
    }
    // An id is already written or the expectation failed: a retried append, a conflict, or a wrong revision.
    const found = events
      .map((event) => sql.eventById.get(event.id))
      .filter((row) => row !== undefined)
      .map((row) => ({ ...row, position: BigInt(row.position) }));
    if (found.length === 0) checkWrite(stream, expected, state);
    const firstRevision = sql.firstRevision.get(stream)?.first ?? state.revision + 1;
    return replayedAppend(stream, expected, events, found, state, firstRevision);
  };

  // The file and its write-ahead log (no shared-memory file in exclusive mode): two stats, no query.
  const diskUsage = () => ({
    usedBytes: path === ':memory:' ? 0 : fileBytes(path) + fileBytes(`${path}-wal`),
    ...(maxSizeBytes === undefined ? {} : { budgetBytes: maxSizeBytes }),
  });

  const identity = (): StoreIdentity => {
    const { storeId, epoch, epochStart } = sql.identity.get()!;
    return { storeId, epoch, epochStart: BigInt(epochStart) };
  };

  /** Nested in the queue's transaction, so a batch that breaks a rule leaves nothing (a savepoint). */
  // A stream's row is written once a batch, with its last revision, not once an event: a stream that a
  // change (a delete, metadata) is about is written first, so the change finds it as it stood.
  const importBatch = db.transaction((events: EventRecord[], keepPositions: boolean) => {
    const revisions = new Map<string, number>();
    const stateOf = (stream: string): StreamState => {
      const revision = revisions.get(stream);
      return revision === undefined ? stateForWrite(stream) : { revision, exists: true, tombstoned: false };
    };
    const writeStream = (stream: string) => {
      const revision = revisions.get(stream);
      if (revision === undefined) return;
      sql.putStream.run(stream, revision, 1);
      states.set(stream, { revision, exists: true, tombstoned: false });
      revisions.delete(stream);
    };
    for (const event of events) {
      checkImported(event, stateOf(event.stream), BigInt(lastPosition), keepPositions);
      const position = keepPositions ? Number(event.position) : lastPosition + 1;
      try {
        sql.insert.run(position, event.stream, event.revision, event.id, event.type, event.data, event.metadata, event.recordedAt);
      } catch (error) {
        throw isSqliteError(error, 'SQLITE_CONSTRAINT') ? idTakenError(event) : error;
      }
      lastPosition = position;
      revisions.set(event.stream, event.revision);
      const change = changeOf(event);
      if (change === undefined) continue;
      writeStream(event.stream);
      writeStream(change.stream);
      checkImportedChange(event, change, stateForWrite(change.stream));
      if (change.kind === 'metadata') {
        sql.putMetadata.run(change.stream, change.metadata);
        continue;
      }
      sql.deleteEvents.run(change.stream);
      snapshots.forget(change.stream);
      sql.markDeleted.run(change.stream, change.lastRevision, change.hard ? 1 : 0);
      states.set(change.stream, { revision: change.lastRevision, exists: false, tombstoned: change.hard });
    }
    for (const stream of [...revisions.keys()]) writeStream(stream);
  });

  const allRows = (query: AllQuery): EventRow[] => {
    const { text, parameters } = allQuerySql(query);
    let statement = allStatements.get(text);
    if (statement === undefined) {
      statement = db.prepare(text).raw(true);
      allStatements.set(text, statement);
    }
    return statement.all(...parameters) as EventRow[];
  };

  const checkedRead = (stream: string): { row: StreamRow | undefined; metadata: StreamMetadata } => {
    const row = sql.stream.get(stream);
    if (row?.tombstoned === 1) throw new StreamDeletedError(stream);
    return { row, metadata: row?.metadata ? (JSON.parse(row.metadata) as StreamMetadata) : {} };
  };

  const snapshots = createSqliteSnapshots(db, queue, (stream) => {
    const state = stateForWrite(stream);
    const last = state.revision;
    return { tombstoned: state.tombstoned, live: state.exists, first: sql.firstRevision.get(stream)?.first ?? last + 1, last };
  });

  return {
    name: 'sqlite',
    changes,
    groups: createSqliteGroups(db, queue),
    snapshots,
    projections: createSqliteProjections(db, queue),

    append(stream, events, expected) {
      return queue.write(() => appendNow(stream, events, expected));
    },

    async readStream(stream, { from, direction, limit }: StreamQuery) {
      const { row, metadata } = checkedRead(stream);
      if (row === undefined || row.live === 0) return [];
      const { minRevision, minRecordedAt } = visibleWindow(metadata, row.revision);
      const rows = (
        direction === 'forwards'
          ? sql.forwards.all(stream, Math.max(from, minRevision), minRecordedAt, limit)
          : sql.backwards.all(stream, from, minRevision, minRecordedAt, limit)
      ) as EventRow[];
      return rows.map(toRecorded);
    },

    readAll: async (query: AllQuery) => allRows(query).map(toRecorded),
    readAllRecords: async (query: AllQuery) => allRows(query).map(toRecord),

    async readEvent(id) {
      const row = sql.event.get(id) as EventRow | undefined;
      return row === undefined ? undefined : toRecorded(row);
    },

    async getMetadata(stream) {
      return checkedRead(stream).metadata;
    },

    async listStreams({ prefix, after, limit }) {
      const rows = sql.streams.all({ prefix: prefix ?? '', after: after ?? null, before: nameAfterPrefix(prefix) ?? null, limit });
      return rows.map(([name, revision, live, tombstoned, position]) =>
        streamInfo(name, revision, position === null ? undefined : BigInt(position), live === 1, tombstoned === 1),
      );
    },

    async readAcls() {
      return new Map(sql.acls.all().map(([name, acl]) => [name, JSON.parse(acl) as StreamAcl]));
    },

    setMetadata(stream, metadata, expected) {
      return queue.write(() => {
        checkedRead(stream);
        const system = systemStreamOf(stream);
        const state = stateForWrite(system);
        checkWrite(system, expected, state);
        sql.putMetadata.run(stream, JSON.stringify(metadata));
        insertEvents(system, [metadataEvent(metadata)], state);
      });
    },

    deleteStream(stream, expected, hard) {
      return queue.write(() => {
        const state = stateForWrite(stream);
        checkWrite(stream, expected, state);
        sql.deleteEvents.run(stream);
        snapshots.forget(stream);
        sql.markDeleted.run(stream, state.revision, hard ? 1 : 0);
        states.set(stream, { revision: state.revision, exists: false, tombstoned: hard });
        const system = systemStreamOf(stream);
        insertEvents(system, [deletedEvent(hard, state.revision)], stateForWrite(system));
      });
    },

    importEvents(events, keepPositions) {
      return queue.write(() => {
        const before = lastPosition;
        try {
          importBatch(events, keepPositions);
        } catch (error) {
          lastPosition = before;
          states.clear();
          throw error;
        }
        return BigInt(lastPosition);
      });
    },

    async headPosition() {
      return BigInt(committedPosition);
    },

    identity: async () => identity(),

    setIdentity({ storeId, epoch, epochStart }) {
      return queue.write(() => void sql.setIdentity.run(storeId, epoch, Number(epochStart)));
    },

    // A table made and filled inside a savepoint needs new pages as an append does, then leaves nothing behind.
    probeWrite: () =>
      queue.write(() => {
        db.exec('SAVEPOINT annals_probe');
        try {
          db.exec(`CREATE TABLE annals_probe (b BLOB); INSERT INTO annals_probe VALUES (zeroblob(${probeBytes}))`);
        } catch (error) {
          const reason = reasonOf(error);
          if (reason === undefined) throw error;
          throw new UnavailableError(`the database takes no writes: ${(error as Error).message}`, { cause: error, reason });
        } finally {
          db.exec('ROLLBACK TO annals_probe; RELEASE annals_probe');
        }
      }),

    async stats() {
      const { events, streams } = sql.counts.get()!;
      return { engine: 'sqlite', events, streams, headPosition: BigInt(committedPosition), ...identity(), disk: diskUsage() };
    },

    diskUsage: async () => diskUsage(),

    backup: () => backupDatabase(db, path),

    async close() {
      await queue.drain();
      changes.close();
      db.close();
    },
  };
};
