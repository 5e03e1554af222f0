import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { uuidv7 } from './validate.js';

describe('uuidv7', () => {
  it('is a version 7, RFC 9562 variant UUID whose first 48 bits are the time', () => {
    const id = uuidv7(0x0123456789ab);
    assert.match(id, /^01234567-89ab-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('sorts by time as text', () => {
    const ids = [3, 1, 2].map((ms) => uuidv7(1_700_000_000_000 + ms));
    assert.deepEqual([...ids].sort(), [ids[1], ids[2], ids[0]]);
  });
});
