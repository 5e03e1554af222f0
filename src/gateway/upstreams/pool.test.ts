import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createPool, type Picked } from './pool.js';

const urlOf = (picked: Picked) => ('instance' in picked ? picked.instance.url : picked.none);

describe('upstream pool', () => {
  it('goes round-robin over healthy instances, skips those taken out, and reports changes once', () => {
    const changes: string[] = [];
    const pool = createPool(['http://a/', 'http://b', 'http://c'], { onChange: (url, healthy) => changes.push(`${url} ${healthy}`) });
    assert.deepEqual(
      [1, 2, 3, 4].map(() => urlOf(pool.pick())),
      ['http://a', 'http://b', 'http://c', 'http://a'],
    );
    pool.markDown('http://b', 'test');
    pool.markDown('http://b', 'test again');
    assert.deepEqual(
      [1, 2, 3, 4].map(() => urlOf(pool.pick())),
      ['http://c', 'http://a', 'http://c', 'http://a'],
    );
    pool.markDown('http://a', 'test');
    pool.markDown('http://c', 'test');
    assert.equal(urlOf(pool.pick()), 'unhealthy');
    pool.markUp('http://b');
    assert.equal(urlOf(pool.pick()), 'http://b');
    assert.deepEqual(changes, ['http://b false', 'http://a false', 'http://c false', 'http://b true']);
  });

  it('sends writes only to writable instances, and says read-only when none is', () => {
    const pool = createPool(['http://a', 'http://b']);
    pool.markWritable('http://a', false);
    assert.deepEqual(
      [1, 2, 3].map(() => urlOf(pool.pick(true))),
      ['http://b', 'http://b', 'http://b'],
    );
    assert.equal(urlOf(pool.pick(false)), 'http://a');
    pool.markWritable('http://b', false);
    assert.equal(urlOf(pool.pick(true)), 'read-only');
  });

  it('skips instances with maxInFlight requests, and says saturated when all have', () => {
    const pool = createPool(['http://a', 'http://b'], { maxInFlight: 1 });
    const first = pool.pick();
    assert.ok('instance' in first);
    first.instance.inFlight++;
    assert.deepEqual([urlOf(pool.pick()), urlOf(pool.pick())], ['http://b', 'http://b']);
    pool.instances[1]!.inFlight++;
    assert.equal(urlOf(pool.pick()), 'saturated');
    first.instance.inFlight--;
    assert.equal(urlOf(pool.pick()), 'http://a');
  });
});
