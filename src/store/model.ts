/** The data model of DESIGN.md section 2: what is written, what is recorded, and how reads are addressed. */

export type JsonPrimitive = string | number | boolean | null;
export type JsonValue = JsonPrimitive | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** An event as the caller writes it. A missing id is generated. */
export interface EventInput<Data extends JsonValue = JsonValue> {
  id?: string;
  type: string;
  data: Data;
  metadata?: JsonObject;
}

/** An event as the log holds it. */
export interface RecordedEvent<Data extends JsonValue = JsonValue> {
  id: string;
  stream: string;
  /** 0-based index of the event in its stream. */
  revision: number;
  /** Place in the global log, strictly increasing in delivery order. */
  position: bigint;
  type: string;
  data: Data;
  metadata: JsonObject;
  recordedAt: Date;
}

/**
 * An event as engines store it: data and metadata as JSON text (metadata null when empty), its time in
 * milliseconds. What an import writes, checked and serialised, and what `iterateAllRecords` reads back
 * without parsing, for copies.
 */
export interface EventRecord extends Omit<RecordedEvent, 'data' | 'metadata' | 'recordedAt'> {
  data: string;
  metadata: string | null;
  /** Milliseconds since the epoch. */
  recordedAt: number;
}

export type ExpectedRevision = 'any' | 'no_stream' | 'stream_exists' | number;

/** What an append reports: the revision and position of its last event. */
export interface AppendResult {
  /** The revision of the append's last event; its events have the revisions before it, one each. */
  revision: number;
  /** The position of the append's last event; its events have the positions before it, one each. */
  position: bigint;
  /**
   * When the store recorded the events (their `recordedAt`), when this call wrote them; absent when it
   * found them written by an earlier call (a retried append).
   */
  recordedAt?: Date;
}

export type Direction = 'forwards' | 'backwards';

export interface ReadStreamOptions {
  /** First revision to read, inclusive. Defaults to the first event (forwards) or the last (backwards). */
  from?: number | 'start' | 'end';
  direction?: Direction;
  limit?: number;
}

export interface AllFilter {
  /** Keep events of these types only. */
  types?: string[];
  /** Keep events whose stream name starts with one of these prefixes. */
  streams?: string[];
  /** Keep events of streams in this category (the part of the name before its first `-`). */
  category?: string;
  /** Also keep events of system streams (names starting with `$`, such as `$$order-1`); false by default. */
  includeSystem?: boolean;
}

export interface ReadAllOptions {
  /** First position to read, inclusive. */
  from?: bigint | 'start' | 'end';
  direction?: Direction;
  limit?: number;
  filter?: AllFilter;
}

export const roles = ['reader', 'writer', 'admin'] as const;
export type Role = (typeof roles)[number];

/** Whom an ACL lets do one thing: tokens by name and roles, in separate lists, so that neither passes for the other. */
export interface AclEntry {
  tokens?: string[];
  roles?: Role[];
}

/**
 * Who may read the stream (anywhere: the stream itself, `$all`, subscriptions), append to it, and read
 * its metadata. Deleting and writing metadata take an admin, whom no ACL narrows.
 */
export interface StreamAcl {
  read?: AclEntry;
  write?: AclEntry;
  metaRead?: AclEntry;
}

export const aclOperations = ['read', 'write', 'metaRead'] as const;
export type AclOperation = (typeof aclOperations)[number];

export interface StreamMetadata {
  /** Keep only the last `maxCount` events visible. */
  maxCount?: number;
  /** Hide events older than this. */
  maxAgeSeconds?: number;
  /** Hide events whose revision is below this. */
  truncateBefore?: number;
  /** Narrows who may do what on the stream over HTTP (admins always may). */
  acl?: StreamAcl;
  custom?: JsonObject;
}

export interface AppendOptions {
  expectedRevision?: ExpectedRevision;
}

export interface DeleteOptions {
  expectedRevision?: ExpectedRevision;
}

export interface SetMetadataOptions {
  /** The revision of the system stream `$$<stream>` that the change expects; `'any'` by default. */
  expectedRevision?: ExpectedRevision;
}

/** How a subscription that lost its source (a server restart, a network fault) tries again. */
export interface RetryPolicy {
  /** Wait before the first new attempt. Default 100 ms. */
  initialDelayMs?: number;
  /** The wait doubles after each failed attempt up to this. Default 5,000 ms. */
  maxDelayMs?: number;
  /** Failed attempts in a row before the subscription fails with `unavailable`. Default: no end. */
  maxAttempts?: number;
}

/** What a subscription reports of its connection, for services to log. */
export type SubscriptionStatus =
  { state: 'connected' } | { state: 'reconnecting'; attempt: number; delayMs: number; error: Error } | { state: 'failed'; error: Error };

/** Subscriptions start *after* `from`: a revision for a stream, a position otherwise. */
export interface SubscribeOptions {
  stream?: string;
  category?: string;
  filter?: AllFilter;
  from?: bigint | number | 'start' | 'end';
  signal?: AbortSignal;
  /** Also yield `{ checkpoint }` messages: the position examined so far by a filtered subscription. */
  checkpoints?: boolean;
  retry?: RetryPolicy;
  onStatus?: (status: SubscriptionStatus) => void;
}

/** Marks the end of history in a subscription: every event that follows is live. */
export interface CaughtUp {
  caughtUp: true;
}

/** Every event of the source up to `checkpoint` (a position) has been examined and delivered. */
export interface Checkpoint {
  checkpoint: bigint;
}

export type SubscriptionMessage = RecordedEvent | CaughtUp | Checkpoint;

export const isCaughtUp = (message: SubscriptionMessage): message is CaughtUp => 'caughtUp' in message;

export const isCheckpoint = (message: SubscriptionMessage): message is Checkpoint => 'checkpoint' in message;

/** Whether a subscription message is an event (not the end of history or a checkpoint). */
export const isEvent = (message: SubscriptionMessage): message is RecordedEvent => 'position' in message && 'stream' in message;

export interface Subscription extends AsyncIterable<SubscriptionMessage> {
  close(): Promise<void>;
}

export interface ListStreamsOptions {
  /** Only streams whose names start with this. */
  prefix?: string;
  /** Only streams whose names sort after this one: the last name of the page before. */
  after?: string;
  /** Most streams to list; default 100, at most 1,000. */
  limit?: number;
}

/** A stream as listed: its last revision, the position of its last event, and whether it was deleted. */
export interface StreamInfo {
  stream: string;
  /** Last revision ever written (revisions go on after a soft delete). */
  revision: number;
  /** Position of its last event; absent once the stream is deleted (its events left the log). */
  position?: bigint;
  /** `soft`: reads as absent until written again; `hard`: tombstoned for ever. */
  deleted?: 'soft' | 'hard';
}

export interface StoreStats extends StoreIdentity {
  engine: string;
  events: number;
  streams: number;
  /** Position of the last event ever written (0n for an empty log). */
  headPosition: bigint;
  disk: DiskUsage;
}

/** What a store takes on disk, cheap to ask for (a scrape reads it): no count of rows. */
export interface DiskUsage {
  /** SQLite: the database file and its write-ahead log; PostgreSQL: the schema's tables, indexes and TOAST; memory: 0. */
  usedBytes: number;
  /** The disk budget (SQLite `maxSizeBytes`), when one is set. */
  budgetBytes?: number;
}

/** The identity and head a backup holds (the first line of an NDJSON backup). */
export interface BackupHeader extends StoreIdentity {
  headPosition: bigint;
}

/**
 * A consistent copy of the whole store as it was at one moment, while writes go on: on SQLite a copy of
 * the database file (the online backup API), elsewhere every event of the log, system events included,
 * read in one snapshot. `close()` releases it (removes the file, ends the snapshot): call it once done.
 */
export type StoreBackup = BackupHeader & { close(): Promise<void> } & (
    | { format: 'sqlite'; /** A private file beside the database. */ file: string; bytes: number }
    | { format: 'events'; /** The log in position order, a page at a time. */ pages: AsyncIterable<RecordedEvent[]> }
  );

/**
 * Which store a log is, and which of its lives (DESIGN.md section 11). A replica or a copy keeping
 * positions carries its source's identity, so that a cursor means the same on each.
 */
export interface StoreIdentity {
  /** Given when the store is created. */
  storeId: string;
  /**
   * 1 at creation; a restore or a promotion starts the next. Positions above `epochStart` may mean other
   * events than they did in an older epoch, so a cursor of an older epoch beyond it is a conflict.
   */
  epoch: number;
  /** The head position when this epoch began. */
  epochStart: bigint;
}

/** How `importEvents` places the events it copies. */
export interface ImportOptions {
  /**
   * Keep each event's position (each must be above the head): what a replica and a move into an empty
   * store do, so that cursors keep their meaning. Otherwise events get the next positions, in order.
   */
  keepPositions?: boolean;
  /**
   * The identity of the store the events come from, with `keepPositions`: an empty store takes it; a store
   * that has it already goes on (a resumed copy); any other is a `conflict`, so two logs are never mixed.
   */
  source?: StoreIdentity;
}

export interface ImportResult {
  /** Events written by this call. */
  events: number;
  headPosition: bigint;
}

/** The category of a stream is the part of its name before the first `-`. */
export const categoryOf = (stream: string): string => {
  const dash = stream.indexOf('-');
  return dash === -1 ? stream : stream.slice(0, dash);
};

/** Whether a stream belongs to the system (its name starts with `$`): left out of `$all` unless asked for. */
export const isSystemStream = (stream: string): boolean => stream.startsWith('$');

/** The system stream that records metadata changes and deletes of `stream` (DESIGN.md section 11). */
export const systemStreamOf = (stream: string): string => `$$${stream}`;

/** The stream whose access rules govern `stream`: `S` for `$$S`, else the stream itself. */
export const subjectOf = (stream: string): string => (stream.startsWith('$$') ? stream.slice(2) : stream);

/** Types of the system events written to `$$<stream>`. */
export const metadataEventType = '$metadata';
export const deletedEventType = '$deleted';
