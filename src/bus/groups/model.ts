/**
 * Durable consumer groups (DESIGN.md section 7): competing consumers that share the events of a source,
 * with at-least-once delivery, leases, retries, parking and replay. State lives in the engine.
 */
import type { AllFilter, RecordedEvent } from '../../store/model.js';

/** What a group delivers: one stream, one category, a `$all` filter, or (`{}`) the whole log. */
export type GroupSource = { stream: string } | { category: string } | { filter: AllFilter } | Record<string, never>;

export const strategies = ['round_robin', 'pinned'] as const;
export type GroupStrategy = (typeof strategies)[number];

/** The settings a group has; `source`, `from` and `scope` are fixed at creation. */
export interface GroupSettings {
  source: GroupSource;
  /** The position after which the group starts (exclusive); `'end'` was resolved to the head at creation. */
  from: bigint;
  /** Stream name prefixes the group is confined to (the creating token's, over HTTP); absent: no bound. */
  scope?: string[];
  strategy: GroupStrategy;
  /** A lease not acked within this is given to the next attempt. */
  ackTimeoutMs: number;
  /** Attempts after the first before an event is parked; 0 parks at the first failure. */
  maxRetries: number;
  /** Wait before a retry; doubles with each attempt, up to `maxRetryDelayMs`. */
  retryDelayMs: number;
  /** Leases one consumer holds at most. */
  maxInFlight: number;
  /** Unsettled events the group reads ahead at most. */
  maxPending: number;
  /** A consumer silent this long leaves `info.consumers`. */
  consumerTimeoutMs: number;
  /** A paused group answers pulls with nothing and still accepts settles. */
  paused: boolean;
}

/** Settings as a caller gives them: all optional but `source` defaults to the whole log, `from` to `'start'`. */
export interface GroupSettingsInput {
  source?: GroupSource;
  from?: 'start' | 'end' | bigint | number | string;
  scope?: string[];
  strategy?: GroupStrategy;
  ackTimeoutMs?: number;
  maxRetries?: number;
  retryDelayMs?: number;
  maxInFlight?: number;
  maxPending?: number;
  consumerTimeoutMs?: number;
  paused?: boolean;
}

export type MutableGroupSettings = Omit<GroupSettings, 'source' | 'from' | 'scope'>;
export type GroupSettingsPatch = Partial<MutableGroupSettings> & Pick<GroupSettingsInput, 'source' | 'from' | 'scope'>;

export const defaultGroupSettings: MutableGroupSettings = {
  strategy: 'round_robin',
  ackTimeoutMs: 30_000,
  maxRetries: 10,
  retryDelayMs: 1_000,
  maxInFlight: 1_000,
  maxPending: 10_000,
  consumerTimeoutMs: 60_000,
  paused: false,
};

/** The longest wait before a retry, however many attempts came before. */
export const maxRetryDelayMs = 60_000;
/** The longest a pull may wait for its first delivery. */
export const maxWaitMs = 30_000;
/** Most deliveries one pull returns. */
export const maxPullSize = 1_000;
/** Most ids one settle carries. */
export const maxSettleIds = 10_000;
/** `lag.events` is counted exactly up to this, then marked estimated. */
export const maxCountedLag = 10_000;

/** The wait before attempt `attempt + 1` of an event whose attempt `attempt` failed. */
export const retryDelay = (settings: Pick<GroupSettings, 'retryDelayMs'>, attempt: number): number =>
  Math.min(settings.retryDelayMs * 2 ** Math.min(attempt - 1, 30), maxRetryDelayMs);

export interface Delivery<E extends RecordedEvent = RecordedEvent> {
  /** Opaque, unique per (group, event, attempt): what `ack`, `nack` and `extend` take. */
  id: string;
  /** 1 for the first delivery of an event, then one more for each retry. */
  attempt: number;
  /** Delivered again by `replay` or `replayParked`: such deliveries never move the checkpoint. */
  replay: boolean;
  event: E;
}

export interface PullOptions {
  consumer: string;
  /** Most deliveries to return; default 100. */
  max?: number;
  /** Wait up to this for the first delivery; default 0 (answer at once), at most 30,000. */
  waitMs?: number;
  signal?: AbortSignal;
}

/** What a settle did with each id given. */
export interface SettleResult {
  /** Settled now (acked, parked or skipped), or released for a retry (`nack` with `retry`). */
  settled: string[];
  /** The event was settled before: by an earlier call, another attempt, or another consumer. */
  alreadySettled: string[];
  /** Not the current attempt of an unsettled event: a retry-nack or extend of it changes nothing. */
  stale: string[];
}

export const nackActions = ['retry', 'park', 'skip'] as const;
export type NackAction = (typeof nackActions)[number];

export interface NackOptions {
  action: NackAction;
  reason?: string;
}

export interface ParkedEvent {
  event: RecordedEvent;
  reason: string;
  /** Attempts made before it was parked. */
  attempts: number;
  parkedAt: Date;
}

export interface ParkedQuery {
  /** The position of the last parked event of the page before. */
  after?: bigint | number | string;
  /** Default 100, at most 1,000. */
  limit?: number;
}

export interface ParkedPage {
  parked: ParkedEvent[];
  /** Pass as `after` for the next page; absent on the last. */
  next?: bigint;
}

/** Parked events to act on: by position (`ids`), or all of them (at most `limit`, oldest first). */
export interface ParkedSelection {
  ids?: (bigint | number | string)[];
  limit?: number;
}

export interface ReplayOptions {
  /** Inclusive position. */
  from: bigint | number | string;
  /** Inclusive position; default: the group's checkpoint at the request. */
  to?: bigint | number | string;
  stream?: string;
  category?: string;
}

export interface ConsumerInfo {
  name: string;
  inFlight: number;
  lastSeenAt: Date;
}

export interface GroupInfo {
  name: string;
  settings: GroupSettings;
  /** Every source event at or below this position is settled. */
  checkpoint: bigint;
  /** The last source position read into the group. */
  lastPosition: bigint;
  lag: { events: number; estimated: boolean; seconds: number };
  /** Unsettled events read ahead (leased or waiting). */
  pending: number;
  inFlight: number;
  parked: number;
  consumers: ConsumerInfo[];
  /** Settles per second over the last minute. */
  rate: number;
  state: 'live' | 'catching_up' | 'paused';
  /** A replay under way: the range, and the position it has read to. */
  replay?: { from: bigint; to: bigint; next: bigint };
}

export interface ConsumeOptions {
  consumer: string;
  /** Handlers running at once; default 10. */
  concurrency?: number;
  signal?: AbortSignal;
  /** Called with errors of the group calls themselves (not of the handler), before the consumer retries. */
  onError?: (error: Error) => void;
}

export interface Consumer {
  /** Acks what finished, releases what has not started, and resolves when the consumer has stopped. */
  close(): Promise<void>;
  stop(): Promise<void>;
  /** Resolves when the consumer stops: closed, aborted, or the group deleted (then it rejects). */
  readonly done: Promise<void>;
}

export type DeliveryHandler<E extends RecordedEvent = RecordedEvent> = (event: E, delivery: Delivery<E>) => Promise<void> | void;

/** Consumer groups of a store (`store.groups`). */
export interface Groups {
  /** Creates the group; an existing group with the same settings is left as it is, with others it is a `conflict`. */
  create(name: string, settings?: GroupSettingsInput): Promise<{ created: boolean; settings: GroupSettings }>;
  /** Changes settings; changing `source`, `from` or `scope` is a `conflict`. */
  update(name: string, patch: GroupSettingsPatch): Promise<GroupSettings>;
  delete(name: string): Promise<void>;
  list(): Promise<GroupInfo[]>;
  info(name: string): Promise<GroupInfo>;
  pull(name: string, options: PullOptions): Promise<Delivery[]>;
  ack(name: string, ids: readonly string[]): Promise<SettleResult>;
  nack(name: string, ids: readonly string[], options: NackOptions): Promise<SettleResult>;
  /** Keeps the leases of a long handler for `ms` more from now. */
  extend(name: string, ids: readonly string[], ms: number): Promise<SettleResult>;
  parked(name: string, query?: ParkedQuery): Promise<ParkedPage>;
  /** Queues parked events again at attempt 1, in position order; returns how many. */
  replayParked(name: string, selection?: ParkedSelection): Promise<{ replayed: number }>;
  deleteParked(name: string, selection?: ParkedSelection): Promise<{ deleted: number }>;
  /** Delivers a past range again, to this group only. */
  replay(name: string, options: ReplayOptions): Promise<{ from: bigint; to: bigint }>;
  consume<E extends RecordedEvent = RecordedEvent>(name: string, handler: DeliveryHandler<E>, options: ConsumeOptions): Consumer;
}
