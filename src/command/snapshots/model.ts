/**
 * The snapshot store (DESIGN.md section 8): a decider's state at a revision of a stream, so that loading
 * reads only the events after it. Snapshots are never the source of truth: one per (stream,
 * schemaVersion), kept by the engine that keeps the events, gone with the stream when it is deleted.
 */
import type { JsonValue } from '../../store/model.js';

export interface Snapshot<State = JsonValue> {
  stream: string;
  /** The revision of the last event folded into `state`. */
  revision: number;
  /** The shape of `state`: a decider raises it when `evolve` or the upcasters change. */
  schemaVersion: number;
  state: State;
  recordedAt: Date;
}

export interface SnapshotInput<State = JsonValue> {
  revision: number;
  schemaVersion: number;
  state: State;
}

export interface Snapshots {
  /** The stream's snapshot of `schemaVersion`; without one, the snapshot of the highest revision. */
  read<State = JsonValue>(stream: string, options?: { schemaVersion?: number }): Promise<Snapshot<State> | undefined>;
  /**
   * Keeps the snapshot unless one of a higher revision is kept for its schemaVersion (`written: false`).
   * Refused for a revision the stream does not hold (above its last, before a soft delete, of a deleted
   * stream).
   */
  write(stream: string, snapshot: SnapshotInput): Promise<{ written: boolean }>;
  /** Deletes the stream's snapshot of `schemaVersion`, or all of them. */
  delete(stream: string, options?: { schemaVersion?: number }): Promise<void>;
}
