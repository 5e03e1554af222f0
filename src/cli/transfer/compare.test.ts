import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RecordedEvent } from '../../store/model.js';
import { compareLogs } from './compare.js';

const event = (position: number, changes: Partial<RecordedEvent> = {}): RecordedEvent => ({
  id: `e${position}`,
  stream: 'order-1',
  revision: position,
  position: BigInt(position),
  type: 'Placed',
  data: { a: 1, b: [1, 2] },
  metadata: { by: 'x' },
  recordedAt: new Date(1_700_000_000_000 + position),
  ...changes,
});
const async = (events: RecordedEvent[]) =>
  (async function* () {
    yield* events;
  })();

describe('compareLogs', () => {
  it('verifies equal logs, data compared as JSON values', async () => {
    const actual = [event(1), event(2, { data: { b: [1, 2], a: 1 } })];
    assert.deepEqual(await compareLogs(async([event(1), event(2)]), async(actual), true), { verified: 2 });
  });

  it('compares positions only when they were kept', async () => {
    assert.deepEqual(await compareLogs(async([event(1)]), async([event(1, { position: 9n })]), false), { verified: 1 });
    assert.deepEqual(await compareLogs(async([event(1)]), async([event(1, { position: 9n })]), true), {
      verified: 0,
      difference: 'event 1 (position 1 in the source, id e1): position is 9, expected 1',
    });
  });

  it('names the first difference, and an event the target lacks', async () => {
    const differing = await compareLogs(async([event(1), event(2)]), async([event(1), event(2, { metadata: {} })]), true);
    assert.deepEqual(differing, {
      verified: 1,
      difference: 'event 2 (position 2 in the source, id e2): metadata is {}, expected {"by":"x"}',
    });
    const time = await compareLogs(async([event(1)]), async([event(1, { recordedAt: new Date(0) })]), true);
    assert.match((time as { difference: string }).difference, /recordedAt is 1970-01-01T00:00:00.000Z/);
    const missing = await compareLogs(async([event(1), event(2)]), async([event(1)]), true);
    assert.deepEqual(missing, { verified: 1, difference: 'event 2 (position 2 in the source, id e2) is missing from the target' });
  });
});
