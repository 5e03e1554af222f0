/**
 * Copying another store's log in: what a replica does as it follows its primary, and what `annals import`
 * and `copy` do. Events keep their ids, streams, revisions, types, data, metadata and times (and positions
 * when asked); a system event also makes the change it records, so the copy ends as the source is.
 *
 * The rules are strict, so that a copy is either exact or refused: each event must be the next revision of
 * its stream, above the head when it keeps its position, with an id new to the store. Every engine checks
 * them with these functions inside its write transaction, and a batch that breaks one writes nothing.
 */
import { ConflictError, InvalidArgumentError, PayloadTooLargeError } from './errors.js';
import type { Limits } from './limits.js';
import {
  deletedEventType,
  metadataEventType,
  subjectOf,
  type EventRecord,
  type ImportOptions,
  type RecordedEvent,
  type StoreIdentity,
} from './model.js';
import type { StreamState } from './rules.js';
import { checkEventId, checkJson, checkName, checkOptionsObject, checkStreamMetadata, serialised, shown } from './validate.js';

/** The record of an event read from a store: its data and metadata serialised as an engine stores them. */
export const recordOf = (event: RecordedEvent): EventRecord => ({
  id: event.id,
  stream: event.stream,
  revision: event.revision,
  position: event.position,
  type: event.type,
  data: JSON.stringify(event.data),
  metadata: Object.keys(event.metadata).length === 0 ? null : JSON.stringify(event.metadata),
  recordedAt: event.recordedAt.getTime(),
});

/** The event a record holds: its data and metadata parsed, its time a Date (what `recordOf` undoes). */
export const eventOfRecord = (record: EventRecord): RecordedEvent => ({
  id: record.id,
  stream: record.stream,
  revision: record.revision,
  position: record.position,
  type: record.type,
  data: JSON.parse(record.data),
  metadata: record.metadata === null ? {} : JSON.parse(record.metadata),
  recordedAt: new Date(record.recordedAt),
});

/** The change a system event records, which importing it makes too. */
export type ImportedChange =
  { kind: 'metadata'; stream: string; metadata: string } | { kind: 'deleted'; stream: string; hard: boolean; lastRevision: number };

/** The change an imported `$$<stream>` event makes to `<stream>`; undefined for any other event. */
export const changeOf = (event: EventRecord): ImportedChange | undefined => {
  if (!event.stream.startsWith('$$')) return undefined;
  const stream = subjectOf(event.stream);
  if (event.type === metadataEventType) return { kind: 'metadata', stream, metadata: event.data };
  const { hard, lastRevision } = JSON.parse(event.data) as { hard: boolean; lastRevision: number };
  return { kind: 'deleted', stream, hard, lastRevision };
};

const at = (event: EventRecord) => `event ${event.id} (position ${event.position}, revision ${event.revision} of '${event.stream}')`;

/**
 * Throws `conflict` unless `event` may follow what the store holds: `state` is its stream's, `head` the
 * last position written (checked only when positions are kept).
 */
export const checkImported = (event: EventRecord, state: StreamState, head: bigint, keepPositions: boolean): void => {
  if (state.tombstoned) throw new ConflictError(`${at(event)}: the stream is tombstoned in this store`);
  if (event.revision !== state.revision + 1) {
    throw new ConflictError(`${at(event)}: the next revision of the stream in this store is ${state.revision + 1}`);
  }
  if (keepPositions && event.position <= head) {
    throw new ConflictError(`${at(event)}: its position is not above this store's head, ${head}`);
  }
};

/** Throws `conflict` unless the change may be made to its stream, in `state` in this store. */
export const checkImportedChange = (event: EventRecord, change: ImportedChange, state: StreamState): void => {
  if (state.tombstoned) throw new ConflictError(`${at(event)}: '${change.stream}' is tombstoned in this store`);
  if (change.kind === 'deleted' && change.lastRevision < state.revision) {
    throw new ConflictError(`${at(event)}: it deletes '${change.stream}' at revision ${change.lastRevision}, below ${state.revision} here`);
  }
};

export const idTakenError = (event: EventRecord): ConflictError => new ConflictError(`${at(event)}: its id is already in this store`);

/**
 * Checks a whole batch against what the store holds (`stateOf` a stream before the batch, whether an id
 * is taken, the head) and returns the state of every stream it changes, and the head, after it.
 */
export const checkImportBatch = (
  events: readonly EventRecord[],
  store: { stateOf: (stream: string) => StreamState; idTaken: (id: string) => boolean; head: bigint; keepPositions: boolean },
): { states: Map<string, StreamState>; head: bigint } => {
  const states = new Map<string, StreamState>();
  const stateOf = (stream: string) => states.get(stream) ?? store.stateOf(stream);
  const ids = new Set<string>();
  let head = store.head;
  for (const event of events) {
    checkImported(event, stateOf(event.stream), head, store.keepPositions);
    if (ids.has(event.id) || store.idTaken(event.id)) throw idTakenError(event);
    ids.add(event.id);
    head = store.keepPositions ? event.position : head + 1n;
    states.set(event.stream, { revision: event.revision, exists: true, tombstoned: false });
    const change = changeOf(event);
    if (change === undefined) continue;
    checkImportedChange(event, change, stateOf(change.stream));
    if (change.kind === 'deleted') states.set(change.stream, { revision: change.lastRevision, exists: false, tombstoned: change.hard });
  }
  return { states, head };
};

/**
 * What a store's identity becomes when it imports from `source` with its positions: an empty store takes
 * the source's; a store that is already a copy of it (the same store and epoch) goes on. Throws `conflict`
 * for any other, so two logs are never mixed.
 */
export const identityAfterImport = (current: StoreIdentity, headPosition: bigint, source: StoreIdentity): StoreIdentity => {
  if (current.storeId === source.storeId && current.epoch === source.epoch) return current;
  if (headPosition === 0n) return source;
  throw new ConflictError(
    `this store is ${current.storeId} (epoch ${current.epoch}) and holds events; it cannot take events of ${source.storeId} (epoch ${source.epoch})`,
  );
};

/** The identity of a store that starts a new epoch at `headPosition` (a restore, a promotion). */
export const nextEpoch = (current: StoreIdentity, headPosition: bigint): StoreIdentity => ({
  storeId: current.storeId,
  epoch: current.epoch + 1,
  epochStart: headPosition,
});

const describe = (value: unknown): string => (value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value);

const checkSystemEvent = (path: string, stream: string, type: string, data: unknown): void => {
  if (!stream.startsWith('$$') || stream.length === 2) {
    throw new InvalidArgumentError(`${path}.stream is ${shown(stream)}; the only system streams are '$$<stream>'`);
  }
  if (type === metadataEventType) {
    checkStreamMetadata(data);
    return;
  }
  if (type !== deletedEventType) {
    throw new InvalidArgumentError(
      `${path}.type is ${shown(type)}; allowed in '$$<stream>': '${metadataEventType}' or '${deletedEventType}'`,
    );
  }
  const { hard, lastRevision } = checkOptionsObject(data, ['hard', 'lastRevision'], `${path}.data`);
  if (typeof hard !== 'boolean') throw new InvalidArgumentError(`${path}.data.hard is ${shown(hard)}; allowed: true or false`);
  if (typeof lastRevision !== 'number' || !Number.isSafeInteger(lastRevision) || lastRevision < -1) {
    throw new InvalidArgumentError(`${path}.data.lastRevision is ${shown(lastRevision)}; allowed: an integer >= -1`);
  }
};

/** Checks and serialises a batch to import, in log order; throws before anything is written. */
export const prepareImport = (events: unknown, options: ImportOptions | undefined, limits: Limits) => {
  const { keepPositions = false, source } = checkOptionsObject(options, ['keepPositions', 'source']) as ImportOptions;
  if (typeof keepPositions !== 'boolean')
    throw new InvalidArgumentError(`keepPositions is ${shown(keepPositions)}; allowed: true or false`);
  if (source !== undefined && !keepPositions) throw new InvalidArgumentError('source is taken only with keepPositions: true');
  if (!Array.isArray(events)) throw new InvalidArgumentError(`events must be an array, not ${describe(events)}`);
  if (events.length > limits.maxAppendEvents) {
    throw new PayloadTooLargeError(`an import holds at most ${limits.maxAppendEvents} events, not ${events.length}`);
  }
  let totalBytes = 0;
  let lastPosition = 0n;
  const prepared = events.map((event: unknown, index): EventRecord => {
    const path = `events[${index}]`;
    const { id, stream, revision, position, type, data, metadata, recordedAt } = checkOptionsObject(
      event,
      ['id', 'stream', 'revision', 'position', 'type', 'data', 'metadata', 'recordedAt'],
      path,
    ) as Partial<RecordedEvent>;
    checkName(`${path}.stream`, stream);
    checkName(`${path}.type`, type);
    if (typeof revision !== 'number' || !Number.isSafeInteger(revision) || revision < 0) {
      throw new InvalidArgumentError(`${path}.revision is ${shown(revision)}; allowed: an integer >= 0`);
    }
    if (typeof position !== 'bigint' || position < 1n || position <= lastPosition) {
      throw new InvalidArgumentError(`${path}.position is ${shown(position)}; allowed: a bigint above ${lastPosition}, in log order`);
    }
    lastPosition = position;
    if (!(recordedAt instanceof Date) || Number.isNaN(recordedAt.getTime())) {
      throw new InvalidArgumentError(`${path}.recordedAt is ${shown(recordedAt)}; allowed: a valid Date`);
    }
    if (data === undefined) throw new InvalidArgumentError(`${path}.data is missing`);
    if (metadata !== undefined && (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata))) {
      throw new InvalidArgumentError(`${path}.metadata must be a JSON object, not ${describe(metadata)}`);
    }
    if (stream!.startsWith('$')) checkSystemEvent(path, stream!, type!, data);
    const imported: EventRecord = {
      id: checkEventId(id),
      stream: stream!,
      revision,
      position,
      type: type!,
      data: serialised(data, `${path}.data`),
      metadata: metadata === undefined || Object.keys(metadata).length === 0 ? null : serialised(metadata, `${path}.metadata`),
      recordedAt: recordedAt.getTime(),
    };
    const bytes = Buffer.byteLength(imported.data) + (imported.metadata === null ? 0 : Buffer.byteLength(imported.metadata));
    if (bytes > limits.maxEventBytes)
      throw new PayloadTooLargeError(`${path} is ${bytes} bytes; an event holds at most ${limits.maxEventBytes}`);
    totalBytes += bytes;
    if (totalBytes > limits.maxAppendBytes)
      throw new PayloadTooLargeError(`an import holds at most ${limits.maxAppendBytes} bytes of events`);
    checkJson(data, `${path}.data`);
    if (metadata !== undefined) checkJson(metadata, `${path}.metadata`);
    return imported;
  });
  return { events: prepared, keepPositions, source: source === undefined ? undefined : checkIdentity('source', source) };
};

/** The identity in `identity`, which may be a whole `StoreStats`. */
export const checkIdentity = (what: string, identity: unknown): StoreIdentity => {
  if (typeof identity !== 'object' || identity === null)
    throw new InvalidArgumentError(`${what} is ${shown(identity)}; allowed: a store identity`);
  const { storeId, epoch, epochStart } = identity as Partial<StoreIdentity>;
  if (typeof storeId !== 'string' || storeId.length === 0 || storeId.length > 64) {
    throw new InvalidArgumentError(`${what}.storeId is ${shown(storeId)}; allowed: a store's id`);
  }
  if (typeof epoch !== 'number' || !Number.isSafeInteger(epoch) || epoch < 1) {
    throw new InvalidArgumentError(`${what}.epoch is ${shown(epoch)}; allowed: an integer >= 1`);
  }
  if (typeof epochStart !== 'bigint' || epochStart < 0n) {
    throw new InvalidArgumentError(`${what}.epochStart is ${shown(epochStart)}; allowed: a position (a bigint >= 0)`);
  }
  return { storeId, epoch, epochStart };
};
