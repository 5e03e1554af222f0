import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { withSeed } from '../testing/seed.js';
import type { RecordedEvent } from '../store/model.js';
import { recordOf } from '../store/importing.js';
import { recordedFromJson, recordedToJson, recordedToJsonText, recordToJsonText } from './wire.js';

const recordedEvents = fc.record({
  id: fc.uuid(),
  stream: fc.string({ unit: 'binary', minLength: 1 }),
  revision: fc.nat(),
  position: fc.bigInt({ min: 1n, max: 2n ** 63n - 1n }),
  type: fc.string({ unit: 'binary', minLength: 1 }),
  data: fc.jsonValue(),
  metadata: fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 2 })),
  recordedAt: fc.date({ noInvalidDate: true, min: new Date(0), max: new Date(8.64e15) }),
}) as fc.Arbitrary<RecordedEvent>;

describe('wire format', () => {
  it('writes the text of an event exactly as JSON.stringify of its JSON form', () =>
    withSeed(import.meta.url, (seed) =>
      fc.assert(
        fc.property(recordedEvents, (event) => {
          assert.equal(recordedToJsonText(event), JSON.stringify(recordedToJson(event)));
        }),
        { numRuns: 500, seed },
      ),
    ));

  it('writes the same text from an event as stored (a record), and for runs of events sharing stream, type and time', () =>
    withSeed(import.meta.url, (seed) =>
      fc.assert(
        fc.property(fc.array(fc.tuple(recordedEvents, fc.boolean()), { minLength: 1, maxLength: 8 }), (pairs) => {
          // Half the events take the stream, type and time of the one before, as a long read meets them.
          const events = pairs.map(([event]) => event);
          for (let index = 1; index < events.length; index++) {
            if (!pairs[index]![1]) continue;
            const { stream, type, recordedAt } = events[index - 1]!;
            events[index] = { ...events[index]!, stream, type, recordedAt };
          }
          for (const event of events) {
            const expected = JSON.stringify(recordedToJson(event));
            assert.equal(recordedToJsonText(event), expected);
            assert.equal(recordToJsonText(recordOf(event)), expected);
          }
        }),
        { numRuns: 300, seed },
      ),
    ));

  it('reads back what it writes', () =>
    withSeed(import.meta.url, (seed) =>
      fc.assert(
        fc.property(recordedEvents, (event) => {
          const back = recordedFromJson(JSON.parse(recordedToJsonText(event)));
          assert.equal(back.position, event.position);
          assert.equal(back.recordedAt.getTime(), event.recordedAt.getTime());
          assert.equal(recordedToJsonText(back), recordedToJsonText(event));
        }),
        { numRuns: 200, seed },
      ),
    ));
});
