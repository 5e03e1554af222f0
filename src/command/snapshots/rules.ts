import { InvalidArgumentError, StreamDeletedError } from '../../store/errors.js';

/** What an engine knows of a stream when a snapshot of it is written. */
export interface SnapshotTarget {
  tombstoned: boolean;
  /** Whether the stream has events now: false when never written or soft-deleted. */
  live: boolean;
  /** The first and last revisions stored since the stream was (re)created. */
  first: number;
  last: number;
}

/**
 * Throws unless a snapshot at `revision` stands for events the stream holds: not above its last revision,
 * not from before a soft delete (so loading never starts from a state the stream's history no longer has).
 */
export const checkSnapshotRevision = (stream: string, revision: number, target: SnapshotTarget): void => {
  if (target.tombstoned) throw new StreamDeletedError(stream);
  if (!target.live) {
    throw new InvalidArgumentError(`snapshot of stream '${stream}' refused: the stream has no events (never written or deleted)`);
  }
  if (revision < target.first || revision > target.last) {
    throw new InvalidArgumentError(
      `snapshot revision is ${revision}; allowed: a revision stream '${stream}' holds, ${target.first} to ${target.last}`,
    );
  }
};
