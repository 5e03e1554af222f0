/**
 * The one wrapper that turns a snapshots core into `store.snapshots`, checking every argument first; the
 * embedded store (over an engine) and the client (over HTTP) each bring a core of their own.
 */
import { checkStreamName, checkWritableStream } from '../../store/validate.js';
import type { SnapshotsEngine } from './engine.js';
import type { Snapshot, Snapshots } from './model.js';
import { checkSnapshotSelection, prepareSnapshot } from './validate.js';

/** What `store.snapshots` does once its arguments are checked: the engine's contract, or HTTP calls. */
export type SnapshotsCore = SnapshotsEngine;

export const wrapSnapshots = (core: SnapshotsCore, open: () => void, maxBytes: number): Snapshots => ({
  async read<State>(stream: string, options?: { schemaVersion?: number }) {
    open();
    return (await core.read(checkStreamName(stream), checkSnapshotSelection(options))) as Snapshot<State> | undefined;
  },
  async write(stream, snapshot) {
    open();
    return core.write(checkWritableStream(stream), prepareSnapshot(snapshot, maxBytes));
  },
  async delete(stream, options) {
    open();
    return core.delete(checkWritableStream(stream), checkSnapshotSelection(options));
  },
});
