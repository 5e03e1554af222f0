import type { Groups } from '../bus/groups/model.js';
import type { Snapshots } from '../command/snapshots/model.js';
import type { Projections } from '../projection/registry/model.js';
import type {
  AppendOptions,
  AppendResult,
  DeleteOptions,
  EventInput,
  ListStreamsOptions,
  ReadAllOptions,
  ReadStreamOptions,
  RecordedEvent,
  SetMetadataOptions,
  StoreStats,
  StreamAcl,
  StreamInfo,
  StreamMetadata,
  SubscribeOptions,
  Subscription,
} from './model.js';

/** The one interface of DESIGN.md section 4, implemented by every engine and by the HTTP client. */
export interface EventStore {
  append(stream: string, events: readonly EventInput[], options?: AppendOptions): Promise<AppendResult>;
  /** Events of a stream; `[]` when it is absent or soft-deleted; `stream_deleted` when tombstoned. */
  readStream(stream: string, options?: ReadStreamOptions): Promise<RecordedEvent[]>;
  readAll(options?: ReadAllOptions): Promise<RecordedEvent[]>;
  /**
   * The event with this id, or undefined: what an idempotent command looks up. It finds an event that the
   * stream's metadata hides from reads (`maxCount`, `maxAgeSeconds`, `truncateBefore`), not one of a
   * deleted stream.
   */
  readEvent(id: string): Promise<RecordedEvent | undefined>;
  /** Like `readStream`, in pages: constant memory however long the stream. */
  iterateStream(stream: string, options?: ReadStreamOptions): AsyncIterable<RecordedEvent>;
  iterateAll(options?: ReadAllOptions): AsyncIterable<RecordedEvent>;
  /** History after `from`, then `{ caughtUp: true }`, then live events until closed. */
  subscribe(options?: SubscribeOptions): Subscription;
  getMetadata(stream: string): Promise<StreamMetadata>;
  /** Streams that were ever written, in name order, a page at a time (pass the last name as `after`). */
  listStreams(options?: ListStreamsOptions): Promise<StreamInfo[]>;
  /** The ACL of every stream that has one (tombstoned streams included): what a server consults to hide streams. */
  readAcls(): Promise<Map<string, StreamAcl>>;
  /**
   * Replaces the stream's metadata and records it as a `$metadata` event in `$$<stream>`, atomically;
   * `expectedRevision` is that of `$$<stream>` (`'any'` by default), so concurrent edits cannot overwrite each other.
   */
  setMetadata(stream: string, metadata: StreamMetadata, options?: SetMetadataOptions): Promise<void>;
  /** Soft delete: the stream reads as absent; a later append recreates it and continues its revisions. */
  deleteStream(stream: string, options?: DeleteOptions): Promise<void>;
  /** The stream can never be read or written again. */
  tombstoneStream(stream: string, options?: DeleteOptions): Promise<void>;
  stats(): Promise<StoreStats>;
  /**
   * Whether a write could land now, without writing: resolves if so, else throws `UnavailableError` whose
   * `reason` says why (`disk_budget`, `disk_full`, `db_read_only`, `down`, or over HTTP also `flag` and
   * `replica`). The server probes with it to leave read-only mode.
   */
  probeWrite(): Promise<void>;
  /** Durable consumer groups over this store's log (DESIGN.md section 7). */
  readonly groups: Groups;
  /** Deciders' states at revisions of streams, for fast loading (DESIGN.md section 8). */
  readonly snapshots: Snapshots;
  /** Where projection runners report, and where tools ask them to replay, pause, resume, cancel or drop (DESIGN.md section 9). */
  readonly projections: Projections;
  close(): Promise<void>;
}
