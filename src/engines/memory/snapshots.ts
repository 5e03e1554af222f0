/** Snapshots in memory: per stream, per schemaVersion, the state as JSON text (as the other engines keep it). */
import type { PreparedSnapshot, SnapshotsEngine } from '../../command/snapshots/engine.js';
import { checkSnapshotRevision, type SnapshotTarget } from '../../command/snapshots/rules.js';

interface Kept extends PreparedSnapshot {
  recordedAt: Date;
}

export interface MemorySnapshots extends SnapshotsEngine {
  /** Drops the stream's snapshots: its engine calls this when it deletes the stream. */
  forget(stream: string): void;
}

export const createMemorySnapshots = (targetOf: (stream: string) => SnapshotTarget): MemorySnapshots => {
  const kept = new Map<string, Map<number, Kept>>();
  return {
    async read(stream, schemaVersion) {
      const versions = [...(kept.get(stream)?.values() ?? [])];
      const found =
        schemaVersion === undefined
          ? versions.sort((a, b) => b.revision - a.revision || b.schemaVersion - a.schemaVersion)[0]
          : versions.find((snapshot) => snapshot.schemaVersion === schemaVersion);
      return (
        found && {
          stream,
          revision: found.revision,
          schemaVersion: found.schemaVersion,
          state: JSON.parse(found.state),
          recordedAt: found.recordedAt,
        }
      );
    },
    async write(stream, snapshot) {
      checkSnapshotRevision(stream, snapshot.revision, targetOf(stream));
      const versions = kept.get(stream) ?? new Map<number, Kept>();
      kept.set(stream, versions);
      if ((versions.get(snapshot.schemaVersion)?.revision ?? -1) > snapshot.revision) return { written: false };
      versions.set(snapshot.schemaVersion, { ...snapshot, recordedAt: new Date() });
      return { written: true };
    },
    async delete(stream, schemaVersion) {
      if (schemaVersion === undefined) kept.delete(stream);
      else kept.get(stream)?.delete(schemaVersion);
    },
    forget(stream) {
      kept.delete(stream);
    },
  };
};
