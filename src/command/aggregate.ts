import { ConflictError, InvalidArgumentError } from '../store/errors.js';
import type { EventStore } from '../store/event-store.js';
import { shown } from '../store/validate.js';
import type { DecidedEvent, Decider, SnapshotPolicy, StoredEvent } from './decider.js';
import type { Snapshot } from './snapshots/model.js';
import { checkSchemaVersion } from './snapshots/validate.js';

export interface Aggregated<State> {
  state: State;
  /** The revision of the last event folded; -1 for a stream with no events (or none since a soft delete). */
  revision: number;
}

export interface Loaded<State> extends Aggregated<State> {
  /** The revision of the snapshot the load started from; -1 when it read the whole stream. */
  snapshotRevision: number;
}

/** The decider's snapshot policy, checked; undefined when it keeps none. */
export const snapshotPolicyOf = (decider: { snapshot?: SnapshotPolicy }): SnapshotPolicy | undefined => {
  const policy = decider.snapshot;
  if (policy === undefined) return undefined;
  if (!Number.isSafeInteger(policy.every) || policy.every < 1) {
    throw new InvalidArgumentError(
      `decider.snapshot.every is ${shown(policy.every)}; allowed: a positive integer (events between snapshots)`,
    );
  }
  checkSchemaVersion(policy.schemaVersion, 'decider.snapshot.schemaVersion');
  return policy;
};

/**
 * Whether the stream's metadata hides events from reads. A stream that reads from a revision above 0
 * without it was soft-deleted and written again: its history starts there.
 */
const hidesItsStart = async (store: EventStore, stream: string) => {
  const { maxCount, maxAgeSeconds, truncateBefore } = await store.getMetadata(stream);
  return maxCount !== undefined || maxAgeSeconds !== undefined || truncateBefore !== undefined;
};

const truncated = (stream: string, revision: number) =>
  new ConflictError(`history truncated: stream '${stream}' reads from revision ${revision}; its metadata hides the events before`);

/**
 * Folds the events of `stream` up to `to` into the state, after `snapshot` when given. Reading from the
 * snapshot's own revision proves that the stream still holds it (a soft delete takes it away); undefined
 * when it does not, and the caller folds from the start instead.
 */
const foldFrom = async <State, E extends DecidedEvent>(
  store: EventStore,
  stream: string,
  decider: Decider<State, unknown, E>,
  snapshot: Snapshot<State> | undefined,
  to: number,
): Promise<Aggregated<State> | undefined> => {
  let state = snapshot === undefined ? decider.initialState() : snapshot.state;
  let revision = snapshot?.revision ?? -1;
  let first = true;
  for await (const event of store.iterateStream(stream, { from: Math.max(revision, 0) })) {
    if (event.revision > to) break;
    if (first) {
      first = false;
      if (snapshot !== undefined && event.revision === snapshot.revision) continue;
      if (event.revision > revision + 1 || snapshot !== undefined) {
        // Events are missing before this one: hidden by the metadata, or gone with an earlier incarnation.
        if (await hidesItsStart(store, stream)) {
          if (event.revision > revision + 1) throw truncated(stream, event.revision);
        } else if (snapshot !== undefined) return undefined;
      }
    }
    state = decider.evolve(state, event as unknown as StoredEvent<E>);
    revision = event.revision;
  }
  return first && snapshot !== undefined ? undefined : { state, revision };
};

/**
 * Loads the state of a stream: the decider's latest snapshot (of its schemaVersion) and the events after
 * it, or the whole stream. A stream whose metadata (`maxCount`, `maxAgeSeconds`, `truncateBefore`) hides
 * events that loading needs is a `conflict`: folding a partial history would give a wrong state without
 * saying so.
 */
export const loadStream = async <State, Command, E extends DecidedEvent>(
  store: EventStore,
  stream: string,
  decider: Decider<State, Command, E>,
  to = Number.MAX_SAFE_INTEGER,
): Promise<Loaded<State>> => {
  const policy = snapshotPolicyOf(decider);
  const fold = decider as Decider<State, unknown, E>;
  if (policy !== undefined) {
    const snapshot = await store.snapshots.read<State>(stream, { schemaVersion: policy.schemaVersion });
    if (snapshot !== undefined && snapshot.revision <= to) {
      const loaded = await foldFrom(store, stream, fold, snapshot, to);
      if (loaded !== undefined) return { ...loaded, snapshotRevision: snapshot.revision };
    }
  }
  return { ...(await foldFrom(store, stream, fold, undefined, to))!, snapshotRevision: -1 };
};

/** Folds a stream into its state with the decider's `evolve`, from its latest snapshot when it keeps them. */
export const aggregateStream = async <State, Command, E extends DecidedEvent>(
  store: EventStore,
  stream: string,
  decider: Decider<State, Command, E>,
  options: { to?: number } = {},
): Promise<Aggregated<State>> => {
  const { state, revision } = await loadStream(store, stream, decider, options.to);
  return { state, revision };
};
