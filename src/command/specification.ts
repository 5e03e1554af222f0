/**
 * A given/when/then specification for deciders, for users' unit tests: given the events a stream holds,
 * when a command arrives, then these events are decided, or the command is refused. It runs the decider's
 * own functions, with no store, and fails with a message that shows what was expected and what came.
 */
import assert from 'node:assert/strict';
import { CommandRejectedError } from '../store/errors.js';
import { decideEvents, eventsOf, type DecidedEvent, type Decider, type StoredEvent } from './decider.js';

/** An event as if the store held it at `revision` of a stream named `specification`. */
const stored = <E extends DecidedEvent>(event: E, revision: number): StoredEvent<E> =>
  ({
    id: `00000000-0000-4000-8000-${String(revision).padStart(12, '0')}`,
    stream: 'specification',
    revision,
    position: BigInt(revision + 1),
    recordedAt: new Date(0),
    ...event,
    metadata: event.metadata ?? {},
  }) as StoredEvent<E>;

/** The type and data of events, and their metadata where the expectation gives it. */
const comparable = (events: DecidedEvent[], withMetadata: boolean[]) =>
  events.map(({ type, data, metadata }, index) => (withMetadata[index] ? { type, data, metadata } : { type, data }));

export const DeciderSpecification = {
  for: <State, Command, E extends DecidedEvent>(decider: Decider<State, Command, E>) => ({
    given: (history: E[] = []) => ({
      when: (command: Command) => {
        const decide = (): E[] => {
          const state = history.reduce(
            (folded, event, revision) => decider.evolve(folded, stored(event, revision)),
            decider.initialState(),
          );
          return decideEvents(decider, command, state);
        };
        return {
          /** The command decides exactly these events (type and data; metadata where given). */
          then(expected: E | E[]) {
            const wanted = eventsOf(expected);
            let decided: E[];
            try {
              decided = decide();
            } catch (error) {
              assert.fail(`expected the command to decide ${wanted.length} event(s), but it threw ${String(error)}`);
            }
            const withMetadata = wanted.map((event) => event.metadata !== undefined);
            assert.deepStrictEqual(
              comparable(decided, withMetadata),
              comparable(wanted, withMetadata),
              'the decided events differ from the expected ones',
            );
          },
          /** The command decides nothing. */
          thenNothing() {
            assert.deepStrictEqual(decide(), [], 'expected the command to decide no event');
          },
          /** The command is refused with `CommandRejectedError`; its reason matches `reason` when given. */
          thenRejected(reason?: string | RegExp) {
            let decided: E[] | undefined;
            try {
              decided = decide();
            } catch (error) {
              assert.ok(error instanceof CommandRejectedError, `expected a CommandRejectedError, but the command threw ${String(error)}`);
              if (typeof reason === 'string') assert.equal(error.reason, reason, 'the refusal has another reason');
              else if (reason !== undefined) assert.match(error.reason, reason, 'the refusal has another reason');
              return;
            }
            assert.fail(`expected the command to be refused, but it decided ${JSON.stringify(comparable(decided, []))}`);
          },
        };
      },
    }),
  }),
};
