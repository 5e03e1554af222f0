import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RecordedEvent } from '../../store/model.js';
import type { SizedEvent } from './export-file.js';
import { eventsAfter, type ResumePoint } from './resume.js';

const log = (...positions: number[]): SizedEvent[] =>
  positions.map((position) => ({ event: { id: `e${position}`, position: BigInt(position) } as RecordedEvent, bytes: 1 }));

const after = async (events: SizedEvent[], point: ResumePoint) => {
  const skipped: bigint[] = [];
  const kept: bigint[] = [];
  for await (const { event } of eventsAfter(
    (async function* () {
      yield* events;
    })(),
    point,
    (event) => skipped.push(event.position),
  ))
    kept.push(event.position);
  return { skipped, kept };
};

describe('eventsAfter', () => {
  it('keeps everything when the target holds nothing of the source', async () => {
    assert.deepEqual(await after(log(1, 2), { after: 'nothing' }), { skipped: [], kept: [1n, 2n] });
  });

  it('with kept positions, skips up to the head once its event is the same', async () => {
    assert.deepEqual(await after(log(1, 3, 5, 6), { after: 'position', position: 3n, id: 'e3' }), { skipped: [1n, 3n], kept: [5n, 6n] });
    assert.deepEqual(await after(log(5, 6), { after: 'position', position: 3n, id: 'x' }), { skipped: [], kept: [5n, 6n] });
    assert.deepEqual(await after(log(1, 2), { after: 'position', position: 9n, id: 'x' }), { skipped: [1n, 2n], kept: [] });
  });

  it('refuses to go on when the target head is another event, or none of the source', async () => {
    await assert.rejects(after(log(1, 3), { after: 'position', position: 3n, id: 'other' }), {
      code: 'conflict',
      message: /last event is other at position 3, but the source has e3 there/,
    });
    await assert.rejects(after(log(1, 4), { after: 'position', position: 3n, id: 'e3' }), { code: 'conflict', message: /has no event/ });
  });

  it('with new positions, skips up to the target last event, which must be in the source', async () => {
    assert.deepEqual(await after(log(1, 2, 3), { after: 'id', id: 'e2' }), { skipped: [1n, 2n], kept: [3n] });
    await assert.rejects(after(log(1, 2), { after: 'id', id: 'local' }), { code: 'conflict', message: /local, is not in the source/ });
  });
});
