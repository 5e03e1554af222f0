/** Snapshots of a remote server: the `SnapshotsCore` that `wrapSnapshots` turns into `store.snapshots`. */
import type { SnapshotsCore } from '../command/snapshots/wrap-snapshots.js';
import { snapshotFromJson, type SnapshotJson } from '../protocol/wire.js';
import { NotFoundError } from '../store/errors.js';
import { queryString, type Transport } from './transport.js';

const snapshotPath = (stream: string, schemaVersion: number | undefined) =>
  `/snapshots/${encodeURIComponent(stream)}${queryString({ schemaVersion })}`;

export const remoteSnapshots = (transport: Transport): SnapshotsCore => ({
  async read(stream, schemaVersion) {
    try {
      return snapshotFromJson(await transport.call<SnapshotJson>({ method: 'GET', path: snapshotPath(stream, schemaVersion) }));
    } catch (error) {
      if (error instanceof NotFoundError) return undefined;
      throw error;
    }
  },
  write: (stream, { revision, schemaVersion, state }) =>
    transport.call<{ written: boolean }>({
      method: 'PUT',
      path: snapshotPath(stream, undefined),
      body: `{"revision":${revision},"schemaVersion":${schemaVersion},"state":${state}}`,
    }),
  async delete(stream, schemaVersion) {
    await transport.call({ method: 'DELETE', path: snapshotPath(stream, schemaVersion) });
  },
});
