import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { correlationOf } from './correlation.js';

describe('correlationOf', () => {
  it('keeps well-formed ids and traces, and replaces missing or malformed ones', () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    assert.deepEqual(correlationOf({ 'x-correlation-id': 'order-42', traceparent }), { correlationId: 'order-42', traceparent });
    for (const bad of [
      '',
      'nope',
      '00-00000000000000000000000000000000-00f067aa0ba902b7-01',
      '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01',
    ]) {
      const made = correlationOf({ traceparent: bad, 'x-correlation-id': 'has spaces in it' });
      assert.notEqual(made.traceparent, bad);
      assert.match(made.traceparent, /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
      assert.match(made.correlationId, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    }
  });
});
