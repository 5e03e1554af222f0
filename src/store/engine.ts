/**
 * The engine contract: the little each storage engine implements. `createEventStore` wraps it into the
 * full `EventStore`, validating every argument first, so an engine only ever sees checked input.
 */
import type { GroupsEngine } from '../bus/groups/engine.js';
import type { SnapshotsEngine } from '../command/snapshots/engine.js';
import type { ProjectionsEngine } from '../projection/registry/engine.js';
import type { ChangeFeed } from './change-feed.js';
import type {
  AppendResult,
  EventRecord,
  ExpectedRevision,
  RecordedEvent,
  DiskUsage,
  StoreBackup,
  StoreIdentity,
  StoreStats,
  StreamAcl,
  StreamInfo,
  StreamMetadata,
} from './model.js';
import type { AllQuery, PreparedEvent, StreamListQuery, StreamQuery } from './validate.js';

export interface EngineCore {
  readonly name: string;
  /** Wakes subscriptions when events that readers may see are committed. */
  readonly changes: ChangeFeed;
  /**
   * Brings `changes` up to what is committed now, for an engine that other processes write to (they are
   * heard a moment later); a subscription calls it first, so that its history ends no earlier than its start.
   */
  syncChanges?(): Promise<void>;
  /** Consumer groups' state, kept by the engine beside the events. */
  readonly groups: GroupsEngine;
  /** Snapshots, kept beside the events and deleted with their stream (a soft delete included). */
  readonly snapshots: SnapshotsEngine;
  /** The projection registry: runners' reports and the requests written to them (DESIGN.md section 9). */
  readonly projections: ProjectionsEngine;
  /** All-or-nothing; checks `expected` atomically with the write; replays an already written append. */
  append(stream: string, events: PreparedEvent[], expected: ExpectedRevision): Promise<AppendResult>;
  /** Applies the stream's metadata; `[]` when absent; throws `stream_deleted` when tombstoned. */
  readStream(stream: string, query: StreamQuery): Promise<RecordedEvent[]>;
  readAll(query: AllQuery): Promise<RecordedEvent[]>;
  /** The same events as `readAll`, as stored: nothing parsed, for what only passes them on (an export). */
  readAllRecords(query: AllQuery): Promise<EventRecord[]>;
  /** The stored event with this id (lower-case), whatever the stream's metadata hides; undefined once deleted. */
  readEvent(id: string): Promise<RecordedEvent | undefined>;
  getMetadata(stream: string): Promise<StreamMetadata>;
  /** Streams that were ever written, in name order. */
  listStreams(query: StreamListQuery): Promise<StreamInfo[]>;
  /** The ACL of every stream whose metadata has one, tombstoned streams included. */
  readAcls(): Promise<Map<string, StreamAcl>>;
  /**
   * Replaces the metadata and appends a `$metadata` event (data: the whole new metadata) to `$$<stream>`,
   * in one transaction; `expected` is checked against `$$<stream>` (a mismatch writes nothing).
   */
  setMetadata(stream: string, metadata: StreamMetadata, expected: ExpectedRevision): Promise<void>;
  /**
   * Soft delete, or tombstone when `hard`, with a `$deleted` event (`{ hard, lastRevision }`) appended to
   * `$$<stream>` in the same transaction; `$$<stream>` itself survives.
   */
  deleteStream(stream: string, expected: ExpectedRevision, hard: boolean): Promise<void>;
  stats(): Promise<StoreStats>;
  /** Bytes on disk, cheaply (what `stats` gives as `disk`). */
  diskUsage(): Promise<DiskUsage>;
  /** A consistent copy of the whole store while writes go on (see `StoreBackup`). */
  backup(): Promise<StoreBackup>;
  /** Position of the last event ever written: cheap, unlike `stats`. */
  headPosition(): Promise<bigint>;
  identity(): Promise<StoreIdentity>;
  /** Takes another identity (a copy takes its source's, a restore or a promotion starts an epoch). */
  setIdentity(identity: StoreIdentity): Promise<void>;
  /**
   * Writes a batch of another log's events (importing.ts) in one transaction, or nothing: a `conflict`
   * names the first event that may not follow. New positions follow the head unless `keepPositions`.
   */
  importEvents(events: EventRecord[], keepPositions: boolean): Promise<bigint>;
  /** A write that changes nothing: resolves when one could land now, else throws `UnavailableError` with its `reason`. */
  probeWrite(): Promise<void>;
  close(): Promise<void>;
}
