/** Snapshots in SQLite: written through the write queue, so a write and a delete of its stream never interleave. */
import type Database from 'better-sqlite3';
import type { SnapshotsEngine } from '../../command/snapshots/engine.js';
import { checkSnapshotRevision, type SnapshotTarget } from '../../command/snapshots/rules.js';
import type { WriteQueue } from './write-queue.js';

export interface SqliteSnapshots extends SnapshotsEngine {
  /** Deletes the stream's snapshots; its engine calls this inside the write that deletes the stream. */
  forget(stream: string): void;
}

type SnapshotRow = [revision: number, schemaVersion: number, state: string, recordedAt: number];

export const createSqliteSnapshots = (
  db: Database.Database,
  queue: WriteQueue,
  targetOf: (stream: string) => SnapshotTarget,
): SqliteSnapshots => {
  const sql = {
    latest: db
      .prepare<[string], SnapshotRow>(
        'SELECT revision, schema_version, state, recorded_at FROM snapshots WHERE stream = ? ORDER BY revision DESC, schema_version DESC LIMIT 1',
      )
      .raw(true),
    ofVersion: db
      .prepare<[string, number], SnapshotRow>(
        'SELECT revision, schema_version, state, recorded_at FROM snapshots WHERE stream = ? AND schema_version = ?',
      )
      .raw(true),
    put: db.prepare<[string, number, number, string, number]>(
      `INSERT INTO snapshots (stream, schema_version, revision, state, recorded_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (stream, schema_version) DO UPDATE SET revision = excluded.revision, state = excluded.state, recorded_at = excluded.recorded_at
       WHERE excluded.revision >= snapshots.revision`,
    ),
    deleteAll: db.prepare<[string]>('DELETE FROM snapshots WHERE stream = ?'),
    deleteVersion: db.prepare<[string, number]>('DELETE FROM snapshots WHERE stream = ? AND schema_version = ?'),
  };

  return {
    async read(stream, schemaVersion) {
      const row = schemaVersion === undefined ? sql.latest.get(stream) : sql.ofVersion.get(stream, schemaVersion);
      if (row === undefined) return undefined;
      const [revision, version, state, recordedAt] = row;
      return { stream, revision, schemaVersion: version, state: JSON.parse(state), recordedAt: new Date(recordedAt) };
    },
    write(stream, { revision, schemaVersion, state }) {
      return queue.write(() => {
        checkSnapshotRevision(stream, revision, targetOf(stream));
        return { written: sql.put.run(stream, schemaVersion, revision, state, Date.now()).changes > 0 };
      });
    },
    delete(stream, schemaVersion) {
      return queue.write(() => {
        if (schemaVersion === undefined) sql.deleteAll.run(stream);
        else sql.deleteVersion.run(stream, schemaVersion);
      });
    },
    forget(stream) {
      sql.deleteAll.run(stream);
    },
  };
};
