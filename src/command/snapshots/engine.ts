/** What an engine implements to keep snapshots, with its arguments already checked (validate.ts). */
import type { Snapshot } from './model.js';

export interface PreparedSnapshot {
  revision: number;
  schemaVersion: number;
  /** The state as JSON text. */
  state: string;
}

export interface SnapshotsEngine {
  read(stream: string, schemaVersion: number | undefined): Promise<Snapshot | undefined>;
  /** Checks the revision with `checkSnapshotRevision` atomically with the write. */
  write(stream: string, snapshot: PreparedSnapshot): Promise<{ written: boolean }>;
  delete(stream: string, schemaVersion: number | undefined): Promise<void>;
}
