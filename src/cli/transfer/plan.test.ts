import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { StoreStats } from '../../store/model.js';
import { choosePositions, positionsOf } from './plan.js';

const source = { storeId: 'a', epoch: 1, epochStart: 0n };
const target = (headPosition: bigint, identity = { storeId: 'b', epoch: 1 }): StoreStats => ({
  ...identity,
  epochStart: 0n,
  engine: 'sqlite',
  disk: { usedBytes: 0 },
  events: 0,
  streams: 0,
  headPosition,
});

describe('choosePositions', () => {
  it('keeps positions into an empty target or a copy of the same source, else appends', () => {
    assert.equal(choosePositions(undefined, source, target(0n)), 'keep');
    assert.equal(choosePositions(undefined, undefined, target(0n)), 'keep');
    assert.equal(choosePositions(undefined, source, target(5n, { storeId: 'a', epoch: 1 })), 'keep');
    assert.equal(choosePositions(undefined, source, target(5n)), 'new');
    assert.equal(choosePositions(undefined, source, target(5n, { storeId: 'a', epoch: 2 })), 'new');
    assert.equal(choosePositions('new', source, target(0n)), 'new');
  });

  it('refuses to keep positions where it cannot, saying why', () => {
    assert.throws(() => choosePositions('keep', source, target(5n)), {
      code: 'conflict',
      message: /target holds events \(head 5\) and is b \(epoch 1\), not a copy of a \(epoch 1\).*--positions new/,
    });
    assert.throws(() => choosePositions('keep', undefined, target(5n)), /the file has no header/);
  });

  it('takes keep or new', () => {
    assert.equal(positionsOf(undefined), undefined);
    assert.equal(positionsOf('keep'), 'keep');
    assert.throws(() => positionsOf('old'), { code: 'invalid_argument', message: /allowed: keep .* or new/ });
  });
});
