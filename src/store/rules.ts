/**
 * The write semantics of DESIGN.md section 3 as plain functions, so that every engine decides alike:
 * an engine reads the stream's state, asks these functions, and writes only what they allow.
 */
import { StreamDeletedError, WrongExpectedRevisionError, type ActualRevision } from './errors.js';
import type { AppendResult, ExpectedRevision, StreamInfo, StreamMetadata } from './model.js';
import { deletedEventType, metadataEventType } from './model.js';
import { uuidv7, type PreparedEvent } from './validate.js';

/** What an engine knows of a stream before it writes. */
export interface StreamState {
  /** Last revision ever written to the stream (soft deletes keep counting); -1 when none. */
  revision: number;
  /** Whether the stream has events that a reader can see: false when never written or soft-deleted. */
  exists: boolean;
  tombstoned: boolean;
}

export const absentStream: StreamState = { revision: -1, exists: false, tombstoned: false };

export const actualRevision = (state: StreamState): ActualRevision => (state.exists ? state.revision : 'no_stream');

export const expectationHolds = (expected: ExpectedRevision, state: StreamState): boolean => {
  switch (expected) {
    case 'any':
      return true;
    case 'no_stream':
      return !state.exists;
    case 'stream_exists':
      return state.exists;
    default:
      return state.exists && state.revision === expected;
  }
};

/** Throws unless a write with `expected` may go ahead on a stream in `state`. */
export const checkWrite = (stream: string, expected: ExpectedRevision, state: StreamState): void => {
  if (state.tombstoned) throw new StreamDeletedError(stream);
  if (!expectationHolds(expected, state)) throw new WrongExpectedRevisionError(stream, expected, actualRevision(state));
};

/**
 * The first name that sorts after every name starting with `prefix`, in code point order (the order of
 * UTF-8 bytes, and of SQL's binary collation), so that an engine listing by prefix scans only those names;
 * `undefined` when there is none (or no prefix).
 */
export const nameAfterPrefix = (prefix: string | undefined): string | undefined => {
  const points = [...(prefix ?? '')];
  while (points.length > 0) {
    const last = points.pop()!.codePointAt(0)!;
    if (last < 0x10ffff) return points.join('') + String.fromCodePoint(last === 0xd7ff ? 0xe000 : last + 1);
  }
  return undefined;
};

/** Names in code point order, as SQL's binary collation sorts them (JavaScript's `<` compares UTF-16 units). */
export const compareNames = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

/** A listed stream, as every engine reports it. */
export const streamInfo = (
  stream: string,
  revision: number,
  position: bigint | undefined,
  live: boolean,
  tombstoned: boolean,
): StreamInfo => ({
  stream,
  revision,
  ...(live && position !== undefined ? { position } : {}),
  ...(tombstoned ? { deleted: 'hard' as const } : live ? {} : { deleted: 'soft' as const }),
});

/** An event already in the log, as far as idempotency needs to know it. */
export interface StoredEvent {
  id: string;
  stream: string;
  revision: number;
  position: bigint;
  type: string;
  data: string;
  metadata: string | null;
}

/**
 * Decides a retried append: `found` holds the stored events whose ids the append carries. When they are
 * exactly the append (same ids, same content, consecutive revisions) at the place `expected` names, the
 * original result is returned and nothing is written. Any other overlap is a conflict.
 *
 * `firstRevision` is the lowest revision the stream holds now: where a `no_stream` append would have landed.
 */
export const replayedAppend = (
  stream: string,
  expected: ExpectedRevision,
  events: readonly PreparedEvent[],
  found: readonly StoredEvent[],
  state: StreamState,
  firstRevision: number,
): AppendResult => {
  const conflict = (detail: string) => new WrongExpectedRevisionError(stream, expected, actualRevision(state), detail);
  const byId = new Map(found.map((event) => [event.id, event]));
  const first = byId.get(events[0]!.id);
  if (first === undefined || byId.size !== events.length) throw conflict('some of these event ids are already written');
  const startsWhereExpected =
    expected === 'any' || expected === 'stream_exists'
      ? true
      : expected === 'no_stream'
        ? first.revision === firstRevision
        : first.revision === expected + 1;
  if (!startsWhereExpected) throw conflict('these event ids are already written at another revision');
  let last = first;
  for (const [index, event] of events.entries()) {
    const stored = byId.get(event.id)!;
    const same =
      stored.stream === stream &&
      stored.revision === first.revision + index &&
      stored.type === event.type &&
      stored.data === event.data &&
      stored.metadata === event.metadata;
    if (!same) throw conflict(`event ${event.id} is already written with other content or place`);
    last = stored;
  }
  return { revision: last.revision, position: last.position };
};

/** The part of a stream that its metadata lets readers see. */
export interface VisibleWindow {
  minRevision: number;
  /** Events recorded before this time (ms since the epoch) are hidden; 0 when age does not matter. */
  minRecordedAt: number;
}

export const visibleWindow = (metadata: StreamMetadata, lastRevision: number, now = Date.now()): VisibleWindow => ({
  minRevision: Math.max(metadata.truncateBefore ?? 0, metadata.maxCount === undefined ? 0 : lastRevision - metadata.maxCount + 1),
  minRecordedAt: metadata.maxAgeSeconds === undefined ? 0 : now - metadata.maxAgeSeconds * 1000,
});

/** The `$metadata` event that records a stream's new metadata in `$$<stream>`. */
export const metadataEvent = (metadata: StreamMetadata): PreparedEvent => ({
  id: uuidv7(),
  type: metadataEventType,
  data: JSON.stringify(metadata),
  metadata: null,
});

/** The `$deleted` event that records a soft delete or a tombstone in `$$<stream>`. */
export const deletedEvent = (hard: boolean, lastRevision: number): PreparedEvent => ({
  id: uuidv7(),
  type: deletedEventType,
  data: JSON.stringify({ hard, lastRevision }),
  metadata: null,
});
