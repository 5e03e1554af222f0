/**
 * Deciders (DESIGN.md section 8): a command service's domain logic as three plain functions, the pattern
 * of Emmett and Equinox. `decide` looks at the state and the command and returns the events to write (or
 * throws `CommandRejectedError`); `evolve` folds an event into the state; `initialState` is where a
 * stream with no events starts.
 */
import type { EventInput, JsonObject, JsonValue, RecordedEvent } from '../store/model.js';

/** An event as a decider writes it: a type and its data, narrowed by the decider's own union of events. */
export interface DecidedEvent<Type extends string = string, Data extends JsonValue = JsonValue> extends EventInput<Data> {
  type: Type;
}

/** An event as a decider reads it back: what it wrote, plus where the store put it. */
export type StoredEvent<E extends DecidedEvent> = E & Omit<RecordedEvent, 'type' | 'data' | 'metadata'> & { metadata: JsonObject };

/**
 * When `handleCommand` keeps a snapshot of the state: once `every` events have been written since the
 * snapshot it loaded from. `schemaVersion` names the shape of the state; raise it whenever `evolve` or the
 * upcasters change, and snapshots of the old shape are ignored (and replaced) rather than loaded.
 */
export interface SnapshotPolicy {
  every: number;
  schemaVersion: number;
}

export interface Decider<State, Command, E extends DecidedEvent = DecidedEvent> {
  initialState: () => State;
  evolve: (state: State, event: StoredEvent<E>) => State;
  /** The events the command causes; none is a valid answer (the command changes nothing). */
  decide: (command: Command, state: State) => E | E[];
  /** Keep snapshots of the state (it must then be plain JSON): loading reads only the events after the latest. */
  snapshot?: SnapshotPolicy;
}

/** What `decide` returned, as a list: one event or several. */
export const eventsOf = <E extends DecidedEvent>(decided: E | E[]): E[] => (Array.isArray(decided) ? decided : [decided]);

/** The events `decider` decides for `command` in `state`, as a list. */
export const decideEvents = <State, Command, E extends DecidedEvent>(
  decider: Decider<State, Command, E>,
  command: Command,
  state: State,
): E[] => eventsOf(decider.decide(command, state));
