/**
 * Property-based comparison with the reference model: random sequences of appends (with every form of
 * expected revision and with retried ids), deletes, tombstones and reads run on the store under test and
 * on the in-memory engine; both must give the same outcomes and hold the same log.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { pathToFileURL } from 'node:url';
import fc from 'fast-check';
import { withSeed } from '../../testing/seed.js';
import { createEventStore } from '../create-store.js';
import { AnnalsError } from '../errors.js';
import type { EventStore } from '../event-store.js';
import { createMemoryEngine } from '../../engines/memory/engine.js';
import type { EventInput, ExpectedRevision, ReadAllOptions, ReadStreamOptions, RecordedEvent } from '../model.js';
import type { OpenStore } from './harness.js';

/** The test file that runs this shared suite: what a failure tells the reader to run again. */
const testFile = pathToFileURL(process.argv[1] ?? '').href;

const streams = ['order-1', 'order-2', 'user-1'];
const ids = Array.from({ length: 12 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);

type Operation =
  | { kind: 'append'; stream: string; expected: ExpectedRevision; events: EventInput[] }
  | { kind: 'delete'; stream: string; expected: ExpectedRevision; hard: boolean }
  | { kind: 'metadata'; stream: string; maxCount: number | undefined; expected: ExpectedRevision | undefined }
  | { kind: 'readStream'; stream: string; options: ReadStreamOptions }
  | { kind: 'readAll'; options: ReadAllOptions };

const expectedRevision = fc.oneof(fc.constantFrom<ExpectedRevision>('any', 'no_stream', 'stream_exists'), fc.integer({ min: 0, max: 6 }));
const eventInput = fc.record({
  id: fc.option(fc.constantFrom(...ids), { nil: undefined }),
  type: fc.constantFrom('A', 'B'),
  data: fc.constantFrom<EventInput['data']>(1, 'x', { k: 1 }),
});
const direction = fc.option(fc.constantFrom('forwards' as const, 'backwards' as const), { nil: undefined });
const limit = fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined });
const withoutUndefined = <T extends object>(value: T): T =>
  Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
const readStreamOptions = fc
  .record({
    from: fc.option(fc.oneof(fc.integer({ min: 0, max: 8 }), fc.constantFrom('start' as const, 'end' as const)), { nil: undefined }),
    direction,
    limit,
  })
  .map(withoutUndefined);
// Positions may differ between engines (a PostgreSQL sequence skips values), so `$all` reads start at an end.
const readAllOptions = fc
  .record({
    direction,
    limit,
    filter: fc.option(
      fc.oneof(
        fc.record({ types: fc.subarray(['A', 'B'], { minLength: 1 }) }),
        fc.record({ category: fc.constantFrom('order', 'user') }),
        fc.record({ streams: fc.subarray(['order-1', 'user', 'o'], { minLength: 1 }) }),
        fc.record({ includeSystem: fc.constant(true) }),
        fc.record({ streams: fc.subarray(['$$order', 'user'], { minLength: 1 }), includeSystem: fc.boolean() }),
      ),
      { nil: undefined },
    ),
  })
  .map(withoutUndefined);
const operation: fc.Arbitrary<Operation> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('append' as const),
      stream: fc.constantFrom(...streams),
      expected: expectedRevision,
      events: fc.array(eventInput, { minLength: 1, maxLength: 3 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('delete' as const),
      stream: fc.constantFrom(...streams),
      expected: expectedRevision,
      hard: fc.boolean(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('metadata' as const),
      stream: fc.constantFrom(...streams),
      maxCount: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
      expected: fc.option(expectedRevision, { nil: undefined }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('readStream' as const), stream: fc.constantFrom(...streams), options: readStreamOptions }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('readAll' as const), options: readAllOptions }) },
);

/** Appends without ids get fresh random ones, which differ between the two stores: compare what they control. */
const comparable = (events: RecordedEvent[]) =>
  events.map((e) => ({ stream: e.stream, revision: e.revision, type: e.type, data: e.data, id: ids.includes(e.id) ? e.id : 'generated' }));

const outcome = async (call: () => Promise<unknown>): Promise<unknown> => {
  try {
    const result = await call();
    if (Array.isArray(result)) return comparable(result as RecordedEvent[]);
    return result === undefined ? 'ok' : { revision: (result as { revision: number }).revision };
  } catch (error) {
    if (!(error instanceof AnnalsError)) throw error;
    return error.code;
  }
};

const apply = (store: EventStore, op: Operation) => {
  switch (op.kind) {
    case 'append':
      return outcome(() =>
        store.append(
          op.stream,
          op.events.map((e) => (e.id === undefined ? { type: e.type, data: e.data } : e)),
          { expectedRevision: op.expected },
        ),
      );
    case 'delete':
      return outcome(() => (op.hard ? store.tombstoneStream : store.deleteStream)(op.stream, { expectedRevision: op.expected }));
    case 'metadata':
      return outcome(() =>
        store.setMetadata(op.stream, op.maxCount === undefined ? {} : { maxCount: op.maxCount }, {
          expectedRevision: op.expected ?? 'any',
        }),
      );
    case 'readStream':
      return outcome(() => store.readStream(op.stream, op.options));
    case 'readAll':
      return outcome(() => store.readAll(op.options));
  }
};

const snapshot = async (store: EventStore) => {
  const all = await store.readAll({ filter: { includeSystem: true } });
  for (let i = 1; i < all.length; i++) assert.ok(all[i]!.position > all[i - 1]!.position, 'positions strictly increase');
  const byStream: Record<string, unknown> = {};
  for (const stream of streams) {
    byStream[stream] = await outcome(() => store.readStream(stream));
    byStream[`$$${stream}`] = await outcome(() => store.readStream(`$$${stream}`));
  }
  return { all: comparable(all), byStream };
};

export const describeModelComparison = (
  name: string,
  openStore: OpenStore,
  numRuns = Number(process.env.ANNALS_PROPERTY_RUNS ?? 25),
): void => {
  it(`behaves like the reference model over random operations (${name})`, () =>
    withSeed(testFile, (seed) =>
      fc.assert(
        fc.asyncProperty(fc.array(operation, { minLength: 1, maxLength: 25 }), async (operations) => {
          const model = createEventStore(createMemoryEngine());
          const subject = await openStore();
          try {
            for (const op of operations) {
              assert.deepEqual(await apply(subject, op), await apply(model, op), `outcome of ${JSON.stringify(op)}`);
            }
            assert.deepEqual(await snapshot(subject), await snapshot(model));
          } finally {
            await subject.close();
            await model.close();
          }
        }),
        { numRuns, seed },
      ),
    ));
};
