import type { Groups } from '../bus/groups/model.js';
import type { Snapshots } from '../command/snapshots/model.js';
import type { Projections } from '../projection/registry/model.js';
import type {
  AppendOptions,
  AppendResult,
  EventRecord,
  DeleteOptions,
  EventInput,
  ImportOptions,
  ImportResult,
  ListStreamsOptions,
  ReadAllOptions,
  ReadStreamOptions,
  RecordedEvent,
  SetMetadataOptions,
  DiskUsage,
  StoreBackup,
  StoreIdentity,
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
  /**
   * Like `iterateAll`, each event as the store keeps it: data and metadata as JSON text, never parsed nor
   * upcast. For what passes the log on whole (an export, a copy), at a fraction of the cost of parsing.
   */
  iterateAllRecords(options?: ReadAllOptions): AsyncIterable<EventRecord>;
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
  /** Bytes the store takes on disk: cheap (no count), what the server's disk gauges read at each scrape. */
  diskUsage(): Promise<DiskUsage>;
  /**
   * A consistent copy of the whole store while writes go on (DESIGN.md section 11); close it once read.
   * Over HTTP the server makes it (`GET /backup`, admin for every stream) and streams it to the client.
   */
  backup(): Promise<StoreBackup>;
  /**
   * Copies events of another store's log, given in its order (DESIGN.md section 11): each keeps its id,
   * stream, revision, type, data, metadata and time, and its position with `keepPositions`; a `$$<stream>`
   * event also makes the metadata change or delete it records. All or nothing: an event that is not the
   * next revision of its stream, not above the head when it keeps its position, or whose id is taken, is a
   * `conflict`. What replicas, `annals import` and `annals copy` write with.
   */
  importEvents(events: readonly RecordedEvent[], options?: ImportOptions): Promise<ImportResult>;
  /** Which store this is and its epoch (also in `stats`, which counts the store; this is cheap). */
  identity(): Promise<StoreIdentity>;
  /**
   * Starts the next epoch of this store at its head, after a restore or a promotion: a cursor of an older
   * epoch that is beyond the head may mean other events now, and is refused as a `conflict`.
   */
  startEpoch(): Promise<StoreIdentity>;
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
