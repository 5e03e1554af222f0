/** The embedded store refuses data it could not walk, serialise or read back safely, and says where. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidArgumentError } from './errors.js';
import { defaultLimits, maxJsonDepth } from './limits.js';
import { prepareEvents } from './validate.js';

const nested = (levels: number): unknown => {
  let value: unknown = 1;
  for (let level = 0; level < levels; level++) value = [value];
  return value;
};

describe('prepareEvents on deep and odd values', () => {
  it(`takes ${maxJsonDepth} levels of nesting and refuses one more, naming the field`, () => {
    assert.equal(prepareEvents([{ type: 'A', data: nested(maxJsonDepth) }], defaultLimits).length, 1);
    assert.throws(
      () =>
        prepareEvents(
          [
            { type: 'A', data: { a: 1 } },
            { type: 'A', data: 1, metadata: { m: nested(maxJsonDepth) } },
          ],
          defaultLimits,
        ),
      new InvalidArgumentError(`events[1].metadata nests more than ${maxJsonDepth} levels of objects and arrays`),
    );
  });

  it('refuses 100,000 levels with the same error, not a stack overflow', () => {
    assert.throws(
      () => prepareEvents([{ type: 'A', data: nested(100_000) }], defaultLimits),
      new InvalidArgumentError(`events[0].data nests more than ${maxJsonDepth} levels of objects and arrays`),
    );
  });

  it('names the path of a value JSON cannot hold, and of a cycle', () => {
    const cycle: Record<string, unknown> = { a: [1] };
    (cycle.a as unknown[]).push(cycle);
    assert.throws(() => prepareEvents([{ type: 'A', data: { list: [1, { when: new Date(0) }] } }], defaultLimits), {
      message: 'events[0].data.list[1].when is a Date, not a JSON value (convert it first)',
    });
    assert.throws(() => prepareEvents([{ type: 'A', data: [0, Number.NaN] }], defaultLimits), {
      message: 'events[0].data[1] is NaN, which JSON cannot hold',
    });
    assert.throws(() => prepareEvents([{ type: 'A', data: cycle }], defaultLimits), { message: 'events[0].data.a[1] refers to itself' });
  });

  it('takes a value seen twice that is not its own ancestor', () => {
    const shared = { x: 1 };
    assert.equal(
      prepareEvents([{ type: 'A', data: { a: shared, b: [shared, shared] } }], defaultLimits)[0]!.data,
      '{"a":{"x":1},"b":[{"x":1},{"x":1}]}',
    );
  });
});

describe('prepareEvents checks sizes first', () => {
  it('refuses an oversized event by its size before walking its values', () => {
    const data = { list: Array.from({ length: 200_000 }, (_, index) => index), when: new Date(0), deep: nested(maxJsonDepth + 1) };
    assert.throws(() => prepareEvents([{ type: 'A', data }], defaultLimits), { name: 'PayloadTooLargeError' });
  });

  it('still refuses a value JSON.stringify cannot serialise, with the path', () => {
    assert.throws(
      () => prepareEvents([{ type: 'A', data: { n: 1n } }], defaultLimits),
      new InvalidArgumentError('events[0].data.n is bigint, not a JSON value'),
    );
    assert.throws(
      () => prepareEvents([{ type: 'A', data: () => 1 }], defaultLimits),
      new InvalidArgumentError('events[0].data is function, not a JSON value'),
    );
    assert.throws(
      () => prepareEvents([{ type: 'A', data: 1, metadata: { u: undefined } }], defaultLimits),
      new InvalidArgumentError('events[0].metadata.u is undefined, not a JSON value'),
    );
  });
});
