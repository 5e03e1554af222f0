import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createPool } from './pool.js';

describe('upstream pool', () => {
  it('goes round-robin over healthy instances, skips those taken out, and reports changes once', () => {
    const changes: string[] = [];
    const pool = createPool(['http://a/', 'http://b', 'http://c'], { onChange: (url, healthy) => changes.push(`${url} ${healthy}`) });
    assert.deepEqual(
      [1, 2, 3, 4].map(() => pool.pick()?.url),
      ['http://a', 'http://b', 'http://c', 'http://a'],
    );
    pool.markDown('http://b', 'test');
    pool.markDown('http://b', 'test again');
    assert.deepEqual(
      [1, 2, 3, 4].map(() => pool.pick()?.url),
      ['http://c', 'http://a', 'http://c', 'http://a'],
    );
    pool.markDown('http://a', 'test');
    pool.markDown('http://c', 'test');
    assert.equal(pool.pick(), undefined);
    pool.markUp('http://b');
    assert.equal(pool.pick()?.url, 'http://b');
    assert.deepEqual(changes, ['http://b false', 'http://a false', 'http://c false', 'http://b true']);
  });
});
