import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RecordedEvent } from '../../store/model.js';
import { batchesOf } from './batches.js';

describe('batchesOf', () => {
  it('cuts batches at a count or a size, whichever comes first, an oversized event alone', async () => {
    const sizes = [3, 3, 3, 3, 3, 20, 1];
    const sized = (async function* () {
      for (const [index, bytes] of sizes.entries()) yield { event: { id: String(index) } as RecordedEvent, bytes };
    })();
    const batches = [];
    for await (const batch of batchesOf(sized, { events: 3, bytes: 10 })) batches.push(batch.map((item) => item.event.id));
    assert.deepEqual(batches, [['0', '1', '2'], ['3', '4'], ['5'], ['6']]);
  });
});
