import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { seedOf, seededRandom, withSeed } from './seed.js';

describe('test seeds', () => {
  it('come from ANNALS_SEED when set, and are refused when not an integer', () => {
    assert.equal(seedOf({ ANNALS_SEED: '-476372733' }), -476372733);
    assert.ok(Number.isInteger(seedOf({})));
    assert.throws(() => seedOf({ ANNALS_SEED: 'abc' }), /ANNALS_SEED is 'abc'/);
  });

  it('give the same random sequence for the same seed', () => {
    const draw = (seed: number) => Array.from({ length: 5 }, seededRandom(seed));
    assert.deepEqual(draw(42), draw(42));
    assert.notDeepEqual(draw(42), draw(43));
    assert.ok(draw(7).every((value) => value >= 0 && value < 1));
  });

  it('are named, with the command that replays them, when a test fails', async () => {
    const error = await withSeed(import.meta.url, () => {
      throw new Error('boom');
    }).catch((caught: unknown) => caught as Error);
    assert.match(error.message, /^boom\nseed -?\d+: replay with ANNALS_SEED=-?\d+ node --import tsx --test .*seed\.test\.ts$/);
  });
});
