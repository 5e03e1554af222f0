import assert from 'node:assert/strict';
import { it } from 'node:test';
import { AnnalsError, WrongExpectedRevisionError, type ErrorCode } from '../errors.js';
import type { EventStore } from '../event-store.js';
import type { EventInput, JsonValue } from '../model.js';

/** Opens a fresh, empty store; the suite closes it after each case. */
export type OpenStore = () => Promise<EventStore>;

/** A test case that runs `body` on a fresh store from `open` and always closes it. */
export const storeTest =
  (open: OpenStore) =>
  (title: string, body: (store: EventStore) => Promise<void>): void =>
    void it(title, async () => {
      const store = await open();
      try {
        await body(store);
      } finally {
        await store.close();
      }
    });

export const rejectsWith = async (promise: Promise<unknown>, code: ErrorCode): Promise<AnnalsError> => {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof AnnalsError, `expected an AnnalsError '${code}', got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    return error;
  }
  assert.fail(`expected an error '${code}', but the call succeeded`);
};

export const rejectsWrongRevision = async (promise: Promise<unknown>, expected: unknown, actual: number | 'no_stream'): Promise<void> => {
  const error = await rejectsWith(promise, 'wrong_expected_revision');
  assert.ok(error instanceof WrongExpectedRevisionError);
  assert.deepEqual({ expected: error.expected, actual: error.actual }, { expected, actual });
};

export const event = (type: string, data: JsonValue = {}, extra: Partial<EventInput> = {}): EventInput => ({
  type,
  data,
  ...extra,
});

export const events = (count: number, type = 'Happened'): EventInput[] =>
  Array.from({ length: count }, (_, index) => event(type, { index }));

export const take = async <T>(iterable: AsyncIterable<T>, count: number): Promise<T[]> => {
  const taken: T[] = [];
  if (count === 0) return taken;
  for await (const item of iterable) {
    taken.push(item);
    if (taken.length === count) break;
  }
  return taken;
};

export const collect = async <T>(iterable: AsyncIterable<T>): Promise<T[]> => {
  const all: T[] = [];
  for await (const item of iterable) all.push(item);
  return all;
};
