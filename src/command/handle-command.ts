/**
 * `handleCommand`: load the state, decide, append with the exact expected revision; on a conflict load
 * again and decide again, with jittered backoff, up to `maxAttempts`.
 *
 * A command with a `commandId` is idempotent: its events get ids derived from the stream, the command id
 * and their index, so a command sent again finds its first event (`readEvent`) and answers with the
 * original outcome, appending nothing, however the stream changed since and across restarts. Without a
 * command id the events get fresh ids once per decision, and an `unavailable` append is sent again with
 * the same ids (the store recognises an append it already holds).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { CommandRejectedError, InvalidArgumentError, UnavailableError, WrongExpectedRevisionError } from '../store/errors.js';
import type { EventStore } from '../store/event-store.js';
import type { AppendResult, EventInput, JsonObject, JsonValue, RecordedEvent } from '../store/model.js';
import { checkName, checkOptionsObject, shown, uuidv7 } from '../store/validate.js';
import { aggregateStream, loadStream, snapshotPolicyOf } from './aggregate.js';
import { decideEvents, type DecidedEvent, type Decider, type SnapshotPolicy, type StoredEvent } from './decider.js';
import { commandEventId } from './ids.js';
import type { StateCache } from './state-cache.js';

export interface HandleCommandOptions {
  /** Makes the command idempotent: sent again, it answers with its original outcome. */
  commandId?: string;
  /** The command's metadata: `correlationId`, `causationId` and `traceparent` go into every event. */
  metadata?: JsonObject;
  /** Decisions at most, when appends keep meeting newer revisions; default 10. */
  maxAttempts?: number;
  /** Decide on the state this cache holds instead of loading it (state-cache.ts says when it pays). */
  cache?: StateCache;
}

export interface CommandResult<State, E extends DecidedEvent> {
  events: StoredEvent<E>[];
  state: State;
  /** The stream's revision after the command (-1 for a command that wrote nothing to an empty stream). */
  revision: number;
  /** The position of the command's last event; absent when it wrote nothing. */
  position?: bigint;
  /** The command was handled before (same `commandId`): this is its original outcome. */
  replayed: boolean;
}

/** Metadata keys a command passes on to the events it writes. */
const carried = ['correlationId', 'causationId', 'traceparent'] as const;

const backoffMs = (attempt: number) => Math.random() * Math.min(5 * 2 ** attempt, 200);

const checkOptions = (options: HandleCommandOptions) => {
  const { commandId, metadata, maxAttempts = 10, cache } = checkOptionsObject(options, ['commandId', 'metadata', 'maxAttempts', 'cache']);
  if (!Number.isSafeInteger(maxAttempts) || (maxAttempts as number) < 1 || (maxAttempts as number) > 1000) {
    throw new InvalidArgumentError(`maxAttempts is ${shown(maxAttempts)}; allowed: an integer from 1 to 1000`);
  }
  if (cache !== undefined && typeof (cache as Partial<StateCache>).get !== 'function') {
    throw new InvalidArgumentError(`cache is ${shown(cache)}; allowed: a cache made by createStateCache()`);
  }
  if (metadata !== undefined && (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata))) {
    throw new InvalidArgumentError(`metadata is ${shown(metadata)}; allowed: an object`);
  }
  return {
    commandId: commandId === undefined ? undefined : checkName('commandId', commandId),
    metadata: (metadata ?? {}) as JsonObject,
    maxAttempts: maxAttempts as number,
    cache: cache as StateCache | undefined,
  };
};

/** The events of command `commandId` already in the stream, from its first event on; empty if none. */
const eventsOfCommand = async (store: EventStore, stream: string, commandId: string): Promise<RecordedEvent[]> => {
  const first = await store.readEvent(commandEventId(stream, commandId, 0));
  if (first === undefined || first.stream !== stream) return [];
  const events: RecordedEvent[] = [];
  for await (const event of store.iterateStream(stream, { from: first.revision })) {
    if (event.id !== commandEventId(stream, commandId, events.length)) break;
    events.push(event);
  }
  // The stream's metadata may hide events of the command from reads; the first one is always there.
  return events.length > 0 ? events : [first];
};

export const handleCommand = async <State, Command, E extends DecidedEvent>(
  store: EventStore,
  stream: string,
  command: Command,
  decider: Decider<State, Command, E>,
  options: HandleCommandOptions = {},
): Promise<CommandResult<State, E>> => {
  const { commandId, metadata, maxAttempts, cache } = checkOptions(options);
  const policy = snapshotPolicyOf(decider);
  const inherited: JsonObject = {};
  for (const key of carried) if (metadata[key] !== undefined) inherited[key] = metadata[key]!;

  const outcome = async (events: RecordedEvent[], replayed: boolean): Promise<CommandResult<State, E>> => {
    const last = events.at(-1)!;
    const { state } = await aggregateStream(store, stream, decider, { to: last.revision });
    return { events: events as unknown as StoredEvent<E>[], state, revision: last.revision, position: last.position, replayed };
  };

  if (commandId !== undefined) {
    const earlier = await eventsOfCommand(store, stream, commandId);
    if (earlier.length > 0) return outcome(earlier, true);
  }

  // The cache serves the first decision only: once it proved behind, the command loads.
  for (let attempt = 1, fromCache = cache !== undefined; ; fromCache = false) {
    const cached = fromCache ? cache!.get<State>(store, decider, stream) : undefined;
    const loaded = cached ?? (await loadStream(store, stream, decider));
    if (cached === undefined) cache?.set(store, decider, stream, loaded);
    const { state, revision, snapshotRevision } = loaded;
    let decided: E[];
    try {
      decided = decideEvents(decider, command, state);
    } catch (error) {
      // A refusal counts only on the stream's current state: a cached one may be behind.
      if (cached === undefined || !(error instanceof CommandRejectedError)) throw error;
      continue;
    }
    if (decided.length === 0) {
      if (cached === undefined) return { events: [], state, revision, replayed: false };
      continue;
    }
    const events: EventInput[] = decided.map((event, index) => ({
      id: commandId === undefined ? (event.id ?? uuidv7()) : commandEventId(stream, commandId, index),
      type: event.type,
      data: event.data,
      metadata: { ...event.metadata, ...inherited, ...(commandId === undefined ? {} : { commandId }) },
    }));
    try {
      const written = await appendOutlasting(store, stream, events, revision);
      const recorded = await recordedEvents(store, stream, events, written);
      let folded = state;
      for (const event of recorded) folded = decider.evolve(folded, event as unknown as StoredEvent<E>);
      const snapshotAt = await keepSnapshot(store, stream, policy, { revision: written.revision, state: folded }, snapshotRevision);
      cache?.set(store, decider, stream, { state: folded, revision: written.revision, snapshotRevision: snapshotAt });
      return {
        events: recorded as unknown as StoredEvent<E>[],
        state: folded,
        revision: written.revision,
        position: written.position,
        replayed: false,
      };
    } catch (error) {
      cache?.delete(stream);
      // A cached state behind the stream is not contention: load and decide again at once.
      if (cached !== undefined && error instanceof WrongExpectedRevisionError) continue;
      if (!(error instanceof WrongExpectedRevisionError) || attempt >= maxAttempts) throw error;
      // Another command wrote first; with an id, it may have been this very command sent twice.
      if (commandId !== undefined) {
        const earlier = await eventsOfCommand(store, stream, commandId);
        if (earlier.length > 0) return outcome(earlier, true);
      }
      await sleep(backoffMs(attempt++));
    }
  }
};

/**
 * Writes a snapshot when the policy asks for one, and returns the revision of the latest snapshot. It only makes later loads faster, so nothing here may
 * fail the command: a state that is not JSON, a stream deleted meanwhile or a store gone away all just
 * leave the snapshot unwritten.
 */
const keepSnapshot = async <State>(
  store: EventStore,
  stream: string,
  policy: SnapshotPolicy | undefined,
  { revision, state }: { revision: number; state: State },
  loadedFrom: number,
): Promise<number> => {
  if (policy === undefined || revision - loadedFrom < policy.every) return loadedFrom;
  try {
    await store.snapshots.write(stream, { revision, schemaVersion: policy.schemaVersion, state: state as JsonValue });
    return revision;
  } catch {
    return loadedFrom;
  }
};

/**
 * The events as the store recorded them: from what was appended and where, or, for an append the store
 * found already written (sent again after `unavailable`), read back.
 */
const recordedEvents = async (store: EventStore, stream: string, events: EventInput[], written: AppendResult): Promise<RecordedEvent[]> => {
  const first = events.length - 1;
  const { recordedAt } = written;
  if (recordedAt === undefined) return store.readStream(stream, { from: written.revision - first, limit: events.length });
  return events.map((event, index) => ({
    id: event.id!,
    stream,
    revision: written.revision - first + index,
    position: written.position - BigInt(first - index),
    type: event.type,
    data: event.data,
    metadata: event.metadata ?? {},
    recordedAt,
  }));
};

/** Appends, sending the same events again while the store is unavailable (a few times). */
const appendOutlasting = async (store: EventStore, stream: string, events: EventInput[], revision: number) => {
  for (let attempt = 1; ; attempt++) {
    try {
      return await store.append(stream, events, { expectedRevision: revision < 0 ? 'no_stream' : revision });
    } catch (error) {
      if (!(error instanceof UnavailableError) || attempt >= 5) throw error;
      await sleep(50 * attempt);
    }
  }
};
