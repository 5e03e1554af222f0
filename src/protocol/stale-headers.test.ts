import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { staleHeaders } from './stale-headers.js';

describe('staleHeaders', () => {
  it('marks a stale result with when it went stale and its age in seconds', () => {
    const staleSince = new Date('2026-01-02T03:04:05.678Z');
    const now = new Date('2026-01-02T03:05:07.000Z');
    assert.deepEqual(staleHeaders({ value: 1, position: 3n, stale: true, staleSince }, now), {
      'Annals-Stale': 'since=2026-01-02T03:04:05.678Z',
      Age: '61',
    });
  });

  it('adds nothing to a fresh result, and never a negative age', () => {
    assert.deepEqual(staleHeaders({ value: 1, position: 3n, stale: false }), {});
    const staleSince = new Date(Date.now() + 10_000);
    assert.equal(staleHeaders({ value: 1, position: 3n, stale: true, staleSince }).Age, '0');
  });
});
