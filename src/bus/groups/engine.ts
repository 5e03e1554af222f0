/**
 * What an engine stores for consumer groups: the group rows, their entries (unsettled source events read
 * ahead, with their leases), the parked events, the consumers seen and the settles of the last minute.
 * Each call is atomic: on PostgreSQL several servers call it at once on the same groups, with the
 * database's clock; on SQLite and memory one process does. The shared layer (create-groups.ts) reads the
 * source, checks arguments, encodes delivery ids and waits; an engine only ever sees checked input.
 */
import type { RecordedEvent } from '../../store/model.js';
import type { GroupSettings, ParkedEvent, SettleResult } from './model.js';

export interface ReplayCursor {
  /** Inclusive. */
  from: bigint;
  /** Inclusive. */
  to: bigint;
  /** Read up to here (inclusive); the replay is done when `next === to`. */
  next: bigint;
  stream?: string;
  category?: string;
}

export interface GroupRow {
  /** Unique among all groups ever created in this store (a recreated group gets a new one). */
  id: number;
  name: string;
  settings: GroupSettings;
  /** The last source position read into the group's entries. */
  lastPosition: bigint;
  /** A replay under way, until its whole range is read in. */
  replay?: ReplayCursor;
}

/** A source event to add to a group. */
export interface EntryInput {
  position: bigint;
  stream: string;
}

/** An entry leased to a consumer: its delivery id is `(group id, entry, attempt)`. */
export interface Lease {
  entry: number;
  attempt: number;
  replay: boolean;
  event: RecordedEvent;
}

export interface LeaseResult {
  leases: Lease[];
  /** When nothing was leased: how soon a waiting entry becomes due or a lease expires, if any. */
  nextDueInMs?: number;
}

/** A decoded delivery id. */
export interface DeliveryRef {
  id: string;
  entry: number;
  attempt: number;
}

export type SettleAction = 'ack' | 'retry' | 'park' | 'skip';

export interface GroupState {
  /** Every live entry at or below this position is settled: the lowest unsettled live position - 1, or `lastPosition`. */
  checkpoint: bigint;
  /** Unsettled entries, live and replayed. */
  pending: number;
  inFlight: number;
  parked: number;
  /** Consumers seen within the group's `consumerTimeoutMs`, in name order. */
  consumers: { name: string; inFlight: number; lastSeenAt: Date }[];
  /** Settles in the last 60 seconds. */
  settledLastMinute: number;
  /** When the oldest unsettled live entry's event was recorded. */
  oldestUnsettledAt?: Date;
}

export interface GroupsEngine {
  /** Inserts the group unless one of that name exists; returns the row that is there now. */
  create(name: string, settings: GroupSettings, lastPosition: bigint): Promise<{ created: boolean; group: GroupRow }>;
  get(name: string): Promise<GroupRow | undefined>;
  /** In name order. */
  list(): Promise<GroupRow[]>;
  /** Writes the settings (the caller keeps `source`, `from` and `scope` as they were). */
  update(name: string, settings: GroupSettings): Promise<GroupRow | undefined>;
  /** Removes the group and everything it holds; false when there was none. */
  delete(name: string): Promise<boolean>;
  /**
   * Adds the source events read in `(after, to]` as entries at attempt 0 and sets `lastPosition` to `to`,
   * only if it is still `after` (so that two servers never add the same events twice); false otherwise.
   */
  add(groupId: number, after: bigint, to: bigint, entries: EntryInput[]): Promise<boolean>;
  /** Starts a replay; false when one is under way. */
  startReplay(groupId: number, cursor: ReplayCursor): Promise<boolean>;
  /** Like `add` for the replay's range: entries marked replay, `replay.next` moves from `after` to `to`. */
  addReplay(groupId: number, after: bigint, to: bigint, entries: EntryInput[]): Promise<boolean>;
  /**
   * Records that `consumer` was seen, then, unless the group is paused: parks expired leases whose next
   * attempt would exceed `maxRetries + 1` and releases the others (due after the retry delay), and leases
   * at most `max` due entries (and no more than `maxInFlight` for the consumer): retries before new
   * entries, then in entry order; under `pinned` only the first unsettled entry of each stream, and only
   * while no entry of that stream is leased. Entries whose event is gone from the log are settled (an
   * engine may settle all the waiting entries of such a stream at once).
   */
  lease(groupId: number, consumer: string, max: number): Promise<LeaseResult>;
  /**
   * `ack`, `park` and `skip` settle any attempt of an unsettled entry; `retry` releases only the current
   * attempt of a leased entry (parking it when the next attempt would exceed `maxRetries + 1`), and a
   * retry of another attempt is `stale`. An id of an entry settled before is `alreadySettled`.
   */
  settle(groupId: number, refs: DeliveryRef[], action: SettleAction, reason: string | undefined): Promise<SettleResult>;
  /**
   * Sets the leases of current, unexpired attempts to expire `ms` from now; other ids are `alreadySettled`
   * or `stale` (a lease that ran out is not revived: its event may be on its way to another consumer).
   */
  extend(groupId: number, refs: DeliveryRef[], ms: number): Promise<SettleResult>;
  state(groupId: number): Promise<GroupState>;
  /** Unsettled entries, live and replayed: what limits how far the group reads ahead. */
  pending(groupId: number): Promise<number>;
  /** Parked events after `after`, in position order. */
  parked(groupId: number, after: bigint, limit: number): Promise<ParkedEvent[]>;
  /** Moves parked events (these positions, or the first `limit`) back to entries at attempt 0, marked replay. */
  replayParked(groupId: number, positions: bigint[] | undefined, limit: number): Promise<number>;
  deleteParked(groupId: number, positions: bigint[] | undefined, limit: number): Promise<number>;
}
