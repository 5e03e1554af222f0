/**
 * How the HTTP API spells the model: positions as strings of decimal digits (JSON numbers lose precision
 * above 2^53), times as ISO 8601. Shared by the server and the client; it imports nothing of HTTP.
 */
import type { Delivery, GroupInfo, GroupSettings, GroupSource, ParkedEvent, ParkedPage } from '../bus/groups/model.js';
import type { Snapshot } from '../command/snapshots/model.js';
import type { EventRecord } from '../store/model.js';
import type {
  AppendResult,
  ExpectedRevision,
  JsonObject,
  JsonValue,
  RecordedEvent,
  StoreIdentity,
  StoreStats,
  StreamInfo,
} from '../store/model.js';

export interface RecordedEventJson {
  id: string;
  stream: string;
  revision: number;
  position: string;
  type: string;
  data: JsonValue;
  metadata: JsonObject;
  recordedAt: string;
}

/** A JSON page of a read; `next` is the `from` of the page after it, absent at the end. */
export interface EventPageJson {
  events: RecordedEventJson[];
  next?: string;
}

export interface AppendResultJson {
  revision: number;
  position: string;
  recordedAt?: string;
}

/**
 * A subscription's response names the store and epoch it comes from, so that a client that reconnects (to
 * the same server, or through a balancer to a replica) can tell whether its cursor still means the same.
 */
export const identityHeaders = ({ storeId, epoch, epochStart }: StoreIdentity): Record<string, string> => ({
  'annals-store-id': storeId,
  'annals-epoch': String(epoch),
  'annals-epoch-start': String(epochStart),
});

export const identityFromHeaders = (headers: Record<string, string | string[] | undefined>): StoreIdentity | undefined => {
  const [storeId, epoch, epochStart] = ['annals-store-id', 'annals-epoch', 'annals-epoch-start'].map((name) => headers[name]);
  if (typeof storeId !== 'string' || typeof epoch !== 'string' || typeof epochStart !== 'string') return undefined;
  if (!/^\d{1,10}$/.test(epoch) || !/^\d{1,19}$/.test(epochStart)) return undefined;
  return { storeId, epoch: Number(epoch), epochStart: BigInt(epochStart) };
};

export interface IdentityJson {
  storeId: string;
  epoch: number;
  epochStart: string;
}

export interface StoreStatsJson {
  engine: string;
  events: number;
  streams: number;
  headPosition: string;
  storeId: string;
  epoch: number;
  epochStart: string;
  disk: { usedBytes: number; budgetBytes?: number };
}

/** A problem details document (RFC 9457) with Annals' stable error `code`. */
export interface ProblemJson {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  /** For `wrong_expected_revision`. */
  stream?: string;
  expected?: number | string;
  actual?: number | string;
  /** For `unavailable` while the store takes no writes: why (a `ReadOnlyReason`). */
  reason?: string;
}

export interface StreamInfoJson {
  stream: string;
  revision: number;
  position?: string;
  deleted?: 'soft' | 'hard';
}

export interface StreamListJson {
  streams: StreamInfoJson[];
  /** Pass as `after` for the next page. */
  next?: string;
}

/** An expected revision as text (a query value, a flag): a revision number, or its keyword. */
export const expectedRevisionOf = (value: string | undefined): ExpectedRevision | undefined =>
  value === undefined ? undefined : /^[0-9]+$/.test(value) ? Number(value) : (value as ExpectedRevision);

export const ndjsonType = 'application/x-ndjson';
export const problemType = 'application/problem+json';

/**
 * `format`, remembering its last argument and result: a long read meets the same values in runs (the
 * events of one append share their time, and often their stream and type), and formats each run once.
 */
const rememberingLast = <T>(format: (value: T) => string) => {
  let last: T | undefined;
  let lastText = '';
  return (value: T) => {
    if (value !== last) {
      last = value;
      lastText = format(value);
    }
    return lastText;
  };
};
const isoOfMillis = rememberingLast((time: number) => new Date(time).toISOString());
const isoOf = (date: Date) => isoOfMillis(date.getTime());
const quotedStream = rememberingLast((name: string) => JSON.stringify(name));
const quotedType = rememberingLast((name: string) => JSON.stringify(name));

export const recordedToJson = (event: RecordedEvent): RecordedEventJson => ({
  id: event.id,
  stream: event.stream,
  revision: event.revision,
  position: String(event.position),
  type: event.type,
  data: event.data,
  metadata: event.metadata,
  recordedAt: isoOf(event.recordedAt),
});

/**
 * The wire form of an event, written out directly with its data and metadata already JSON text: long
 * reads and subscriptions send one of these per event, and skipping an intermediate object saves a good
 * part of their time. Ids are UUIDs and positions digits, so only names need escaping.
 */
const eventJsonText = (
  { id, stream, revision, position, type }: Pick<RecordedEvent, 'id' | 'stream' | 'revision' | 'position' | 'type'>,
  data: string,
  metadata: string,
  recordedAt: number,
) =>
  `{"id":"${id}","stream":${quotedStream(stream)},"revision":${revision},"position":"${position}",` +
  `"type":${quotedType(type)},"data":${data},"metadata":${metadata},"recordedAt":"${isoOfMillis(recordedAt)}"}`;

/** `JSON.stringify(recordedToJson(event))`, without the intermediate object. */
export const recordedToJsonText = (event: RecordedEvent): string =>
  eventJsonText(event, JSON.stringify(event.data), JSON.stringify(event.metadata), event.recordedAt.getTime());

/** The same line from an event as the store keeps it: its data and metadata are sent as stored. */
export const recordToJsonText = (record: EventRecord): string =>
  eventJsonText(record, record.data, record.metadata ?? '{}', record.recordedAt);

export const recordedFromJson = (event: RecordedEventJson): RecordedEvent => ({
  id: event.id,
  stream: event.stream,
  revision: event.revision,
  position: BigInt(event.position),
  type: event.type,
  data: event.data,
  metadata: event.metadata,
  recordedAt: new Date(event.recordedAt),
});

export const appendResultToJson = (result: AppendResult): AppendResultJson => ({
  revision: result.revision,
  position: String(result.position),
  ...(result.recordedAt === undefined ? {} : { recordedAt: isoOf(result.recordedAt) }),
});

export const appendResultFromJson = (result: AppendResultJson): AppendResult => ({
  revision: result.revision,
  position: BigInt(result.position),
  ...(result.recordedAt === undefined ? {} : { recordedAt: new Date(result.recordedAt) }),
});

export const streamInfoToJson = ({ position, ...info }: StreamInfo): StreamInfoJson => ({
  ...info,
  ...(position === undefined ? {} : { position: String(position) }),
});

export const streamInfoFromJson = ({ position, ...info }: StreamInfoJson): StreamInfo => ({
  ...info,
  ...(position === undefined ? {} : { position: BigInt(position) }),
});

export const statsToJson = (stats: StoreStats): StoreStatsJson => ({
  ...stats,
  headPosition: String(stats.headPosition),
  epochStart: String(stats.epochStart),
});

/** The store's statistics out of `/stats`, which adds what only the server knows (rates, read-only state, a replica's lag). */
export const statsFromJson = ({ engine, events, streams, headPosition, storeId, epoch, epochStart, disk }: StoreStatsJson): StoreStats => ({
  engine,
  events,
  streams,
  headPosition: BigInt(headPosition),
  storeId,
  epoch,
  epochStart: BigInt(epochStart),
  disk,
});

// Consumer groups (DESIGN.md section 7): the same shapes as `store.groups`, positions as decimal strings.

export type GroupSourceJson = GroupSource;

export interface GroupSettingsJson extends Omit<GroupSettings, 'from'> {
  from: string;
}

/** Settings as a caller sends them: `from` is `'start'`, `'end'` or a position; unset fields are left out. */
export interface GroupSettingsInputJson extends Partial<Omit<GroupSettings, 'from'>> {
  from?: string;
}

export interface GroupInfoJson {
  name: string;
  settings: GroupSettingsJson;
  checkpoint: string;
  lastPosition: string;
  lag: { events: number; estimated: boolean; seconds: number };
  pending: number;
  inFlight: number;
  parked: number;
  consumers: { name: string; inFlight: number; lastSeenAt: string }[];
  rate: number;
  state: GroupInfo['state'];
  replay?: { from: string; to: string; next: string };
}

export interface DeliveryJson {
  id: string;
  attempt: number;
  replay: boolean;
  event: RecordedEventJson;
}

export interface ParkedEventJson {
  event: RecordedEventJson;
  reason: string;
  attempts: number;
  parkedAt: string;
}

export interface ParkedPageJson {
  parked: ParkedEventJson[];
  next?: string;
}

export const groupSettingsToJson = ({ from, ...settings }: GroupSettings): GroupSettingsJson => ({ ...settings, from: String(from) });

export const groupSettingsFromJson = ({ from, ...settings }: GroupSettingsJson): GroupSettings => ({ ...settings, from: BigInt(from) });

/** Checked settings (or a patch) as a request body: a position `from` as a string. */
export const groupSettingsInputToJson = ({
  from,
  ...settings
}: Omit<GroupSettingsInputJson, 'from'> & { from?: 'start' | 'end' | bigint }) => ({
  ...settings,
  ...(from === undefined ? {} : { from: String(from) }),
});

export const groupInfoToJson = ({ replay, ...info }: GroupInfo): GroupInfoJson => ({
  ...info,
  settings: groupSettingsToJson(info.settings),
  checkpoint: String(info.checkpoint),
  lastPosition: String(info.lastPosition),
  consumers: info.consumers.map((consumer) => ({ ...consumer, lastSeenAt: consumer.lastSeenAt.toISOString() })),
  ...(replay === undefined ? {} : { replay: { from: String(replay.from), to: String(replay.to), next: String(replay.next) } }),
});

export const groupInfoFromJson = ({ replay, ...info }: GroupInfoJson): GroupInfo => ({
  ...info,
  settings: groupSettingsFromJson(info.settings),
  checkpoint: BigInt(info.checkpoint),
  lastPosition: BigInt(info.lastPosition),
  consumers: info.consumers.map((consumer) => ({ ...consumer, lastSeenAt: new Date(consumer.lastSeenAt) })),
  ...(replay === undefined ? {} : { replay: { from: BigInt(replay.from), to: BigInt(replay.to), next: BigInt(replay.next) } }),
});

/** `JSON.stringify` of a delivery as the wire spells it, the event written out directly. */
export const deliveryToJsonText = (delivery: Delivery): string =>
  `{"id":${JSON.stringify(delivery.id)},"attempt":${delivery.attempt},"replay":${delivery.replay},"event":${recordedToJsonText(delivery.event)}}`;

export const deliveryFromJson = (delivery: DeliveryJson): Delivery => ({ ...delivery, event: recordedFromJson(delivery.event) });

export const parkedEventToJson = (parked: ParkedEvent): ParkedEventJson => ({
  ...parked,
  event: recordedToJson(parked.event),
  parkedAt: parked.parkedAt.toISOString(),
});

export const parkedPageToJson = (page: ParkedPage): ParkedPageJson => ({
  parked: page.parked.map(parkedEventToJson),
  ...(page.next === undefined ? {} : { next: String(page.next) }),
});

export const parkedPageFromJson = (page: ParkedPageJson): ParkedPage => ({
  parked: page.parked.map((parked) => ({ ...parked, event: recordedFromJson(parked.event), parkedAt: new Date(parked.parkedAt) })),
  ...(page.next === undefined ? {} : { next: BigInt(page.next) }),
});

export interface SnapshotJson extends Omit<Snapshot, 'recordedAt'> {
  recordedAt: string;
}

export const snapshotToJson = (snapshot: Snapshot): SnapshotJson => ({ ...snapshot, recordedAt: snapshot.recordedAt.toISOString() });

export const snapshotFromJson = (snapshot: SnapshotJson): Snapshot => ({ ...snapshot, recordedAt: new Date(snapshot.recordedAt) });

// The projection registry's JSON forms live beside its contract, since the engines store reports and
// options in the same form.
export {
  projectionInfoFromJson,
  projectionInfoToJson,
  replayOptionsFromJson,
  replayOptionsToJson,
  reportFromJson,
  reportToJson,
  requestFromJson,
  requestToJson,
  type ProjectionErrorJson,
  type ProjectionInfoJson,
  type ProjectionRequestJson,
  type RunnerReportJson,
} from '../projection/registry/json.js';
