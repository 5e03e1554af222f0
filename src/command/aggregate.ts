import { ConflictError } from '../store/errors.js';
import type { EventStore } from '../store/event-store.js';
import type { DecidedEvent, Decider, StoredEvent } from './decider.js';

export interface Aggregated<State> {
  state: State;
  /** The revision of the last event folded; -1 for a stream with no events (or none since a soft delete). */
  revision: number;
}

/**
 * Whether the stream's metadata hides events from reads. A stream that reads from a revision above 0
 * without it was soft-deleted and written again: its history starts there.
 */
const hidesItsStart = async (store: EventStore, stream: string) => {
  const { maxCount, maxAgeSeconds, truncateBefore } = await store.getMetadata(stream);
  return maxCount !== undefined || maxAgeSeconds !== undefined || truncateBefore !== undefined;
};

/**
 * Folds a stream into its state with the decider's `evolve`, reading in pages. A stream whose metadata
 * (`maxCount`, `maxAgeSeconds` or `truncateBefore`) hides the start of its history is a `conflict`:
 * folding a partial history would give a wrong state without saying so.
 */
export const aggregateStream = async <State, Command, E extends DecidedEvent>(
  store: EventStore,
  stream: string,
  decider: Decider<State, Command, E>,
  options: { to?: number } = {},
): Promise<Aggregated<State>> => {
  let state = decider.initialState();
  let revision: number | undefined;
  for await (const event of store.iterateStream(stream)) {
    if (options.to !== undefined && event.revision > options.to) break;
    if (revision === undefined && event.revision > 0 && (await hidesItsStart(store, stream))) {
      throw new ConflictError(
        `history truncated: stream '${stream}' reads from revision ${event.revision}; its metadata hides the events before`,
      );
    }
    state = decider.evolve(state, event as unknown as StoredEvent<E>);
    revision = event.revision;
  }
  return { state, revision: revision ?? -1 };
};
