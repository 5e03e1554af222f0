/** Snapshots in PostgreSQL: migration 4 holds the table, the write function and the trigger that deletes them with their stream. */
import type { SnapshotsEngine } from '../../command/snapshots/engine.js';
import { checkSnapshotRevision } from '../../command/snapshots/rules.js';

type Run = (doing: string, text: string, values?: unknown[]) => Promise<string[][]>;

const columns = 'revision, schema_version, state, extract(epoch FROM recorded_at)::float8 * 1000';

export const createPostgresSnapshots = ({ s, query, read }: { s: string; query: Run; read: Run }): SnapshotsEngine => ({
  async read(stream, schemaVersion) {
    const [row] =
      schemaVersion === undefined
        ? await read(
            'reading a snapshot',
            `SELECT ${columns} FROM ${s}.snapshots WHERE stream = $1 ORDER BY revision DESC, schema_version DESC LIMIT 1`,
            [stream],
          )
        : await read('reading a snapshot', `SELECT ${columns} FROM ${s}.snapshots WHERE stream = $1 AND schema_version = $2`, [
            stream,
            schemaVersion,
          ]);
    if (row === undefined) return undefined;
    const [revision, version, state, recordedAt] = row as [string, string, string, string];
    return {
      stream,
      revision: Number(revision),
      schemaVersion: Number(version),
      state: JSON.parse(state),
      recordedAt: new Date(Number(recordedAt)),
    };
  },
  async write(stream, { revision, schemaVersion, state }) {
    const [row] = await query('writing a snapshot', `SELECT * FROM ${s}.write_snapshot($1, $2, $3, $4)`, [
      stream,
      schemaVersion,
      revision,
      state,
    ]);
    const [written, tombstoned, live, first, last] = row as [string, string, string, string, string];
    if (written === 't') return { written: true };
    checkSnapshotRevision(stream, revision, {
      tombstoned: tombstoned === 't',
      live: live === 't',
      first: Number(first),
      last: Number(last),
    });
    return { written: false };
  },
  async delete(stream, schemaVersion) {
    if (schemaVersion === undefined) await query('deleting snapshots', `DELETE FROM ${s}.snapshots WHERE stream = $1`, [stream]);
    else
      await query('deleting a snapshot', `DELETE FROM ${s}.snapshots WHERE stream = $1 AND schema_version = $2`, [stream, schemaVersion]);
  },
});
