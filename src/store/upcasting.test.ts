import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidArgumentError } from './errors.js';
import type { RecordedEvent } from './model.js';
import { checkUpcasters, keptBy, UpcastError, upcastEvent, widenFilter, type Upcasters } from './upcasting.js';

const stored = (type: string, data: RecordedEvent['data'] = {}, metadata: RecordedEvent['metadata'] = {}): RecordedEvent => ({
  id: '0190a000-0000-7000-8000-000000000001',
  stream: 'order-1',
  revision: 3,
  position: 42n,
  type,
  data,
  metadata,
  recordedAt: new Date(0),
});

const upcasters: Upcasters = {
  'Placed.v1': (event) => ({ type: 'Placed.v2', data: { ...(event.data as object), currency: 'EUR' } }),
  'Placed.v2': (event) => ({ type: 'Placed.v3', data: { order: event.data }, metadata: { upcast: true } }),
};

describe('upcastEvent', () => {
  it('chains upcasters until a type has none, changing only type, data and metadata', () => {
    const event = stored('Placed.v1', { amount: 5 }, { by: 'ada' });
    const upcast = upcastEvent(upcasters, event);
    assert.deepEqual(upcast, { ...event, type: 'Placed.v3', data: { order: { amount: 5, currency: 'EUR' } }, metadata: { upcast: true } });
    assert.deepEqual(event.type, 'Placed.v1', 'the stored event is left as it is');
  });

  it('keeps the stored metadata when an upcaster returns none', () => {
    assert.deepEqual(upcastEvent({ A: () => ({ type: 'B', data: 1 }) }, stored('A', 0, { by: 'ada' })).metadata, { by: 'ada' });
  });

  it('gives upcasters a copy, so that one changing data in place leaves the event read unchanged', () => {
    const event = stored('A', { total: 5 }, { by: 'ada' });
    const inPlace: Upcasters = {
      A: (read) => {
        const data = read.data as { total?: number; amount?: number };
        data.amount = data.total;
        delete data.total;
        read.metadata.upcast = true;
        return { type: 'B', data, metadata: read.metadata };
      },
    };
    assert.deepEqual(upcastEvent(inPlace, event), { ...event, type: 'B', data: { amount: 5 }, metadata: { by: 'ada', upcast: true } });
    assert.deepEqual(event, stored('A', { total: 5 }, { by: 'ada' }));
    assert.deepEqual(upcastEvent(inPlace, event).data, { amount: 5 }, 'the same event upcasts the same way again');
  });

  it('leaves an event of a type without an upcaster as it is', () => {
    const event = stored('Shipped');
    assert.equal(upcastEvent(upcasters, event), event);
  });

  it('stops at a type already met in the chain', () => {
    const calls: string[] = [];
    const looping: Upcasters = {
      A: (event) => (calls.push('A'), { type: 'B', data: event.data }),
      B: (event) => (calls.push('B'), { type: 'A', data: event.data }),
    };
    assert.equal(upcastEvent(looping, stored('A')).type, 'A');
    assert.deepEqual(calls, ['A', 'B']);
    assert.equal(upcastEvent({ A: (event) => ({ type: 'A', data: event.data }) }, stored('A')).type, 'A');
  });

  it('names the event and the type when an upcaster throws or returns something else', () => {
    const failing = (upcaster: Upcasters[string]) => () =>
      upcastEvent({ 'Placed.v1': upcasters['Placed.v1']!, 'Placed.v2': upcaster }, stored('Placed.v1'));
    const message = (pattern: string) => (error: unknown) => {
      assert.ok(error instanceof UpcastError);
      assert.match(
        error.message,
        /upcaster of type 'Placed\.v2' failed on event 0190a000-0000-7000-8000-000000000001 \(stored type 'Placed\.v1', stream 'order-1', revision 3\)/,
      );
      assert.ok(error.message.includes(pattern), error.message);
      return true;
    };
    assert.throws(
      failing(() => {
        throw new Error('no amount');
      }),
      message(': no amount'),
    );
    assert.throws(
      failing(() => undefined as never),
      message('it returned undefined, not { type, data, metadata? }'),
    );
    assert.throws(
      failing(() => ({ data: 1 }) as never),
      message('it returned type undefined, not a non-empty string'),
    );
    assert.throws(
      failing(() => ({ type: 'X' }) as never),
      message('it returned no data'),
    );
    assert.throws(
      failing(() => ({ type: 'X', data: 1, metadata: [] }) as never),
      message('it returned metadata a list of 0 items, not an object'),
    );
  });
});

describe('widenFilter and keptBy', () => {
  it('widens asked types by every type that has an upcaster, the same way every time', () => {
    assert.deepEqual(widenFilter(upcasters, { types: ['Placed.v3', 'Shipped'], category: 'order' }), {
      types: ['Placed.v3', 'Shipped', 'Placed.v1', 'Placed.v2'],
      category: 'order',
    });
    assert.deepEqual(widenFilter(upcasters, { types: ['Placed.v2'] }), { types: ['Placed.v2', 'Placed.v1'] });
  });

  it('leaves filters without types alone', () => {
    assert.equal(widenFilter(upcasters, undefined), undefined);
    assert.deepEqual(widenFilter(upcasters, { streams: ['order-'] }), { streams: ['order-'] });
  });

  it('refuses a widened filter longer than a filter may be', () => {
    const many = Object.fromEntries(Array.from({ length: 100 }, (_, index) => [`T${index}`, () => ({ type: 'X', data: 1 })]));
    assert.throws(
      () => widenFilter(many, { types: ['X'] }),
      /filter\.types widened by the 100 upcast types is 101 types; allowed: at most 100/,
    );
  });

  it('keeps an upcast event by the types asked for', () => {
    assert.equal(keptBy({ types: ['Placed.v3'] }, upcastEvent(upcasters, stored('Placed.v1'))), true);
    assert.equal(keptBy({ types: ['Placed.v1'] }, upcastEvent(upcasters, stored('Placed.v1'))), false);
    assert.equal(keptBy({ category: 'order' }, stored('Anything')), true);
    assert.equal(keptBy(undefined, stored('Anything')), true);
  });
});

describe('checkUpcasters', () => {
  it('takes an object of functions, and nothing as no upcasting', () => {
    assert.equal(checkUpcasters(undefined), undefined);
    assert.equal(checkUpcasters({}), undefined);
    const checked = checkUpcasters(upcasters)!;
    assert.deepEqual(Object.keys(checked), ['Placed.v1', 'Placed.v2']);
    assert.equal(checked['toString'], undefined, 'no inherited property passes for an upcaster');
  });

  it('names the field, what was given and what is allowed', () => {
    const refused = (value: unknown, pattern: RegExp) =>
      assert.throws(
        () => checkUpcasters(value),
        (error: unknown) =>
          error instanceof InvalidArgumentError &&
          pattern.test(error.message) &&
          /allowed: an object of functions by event type/.test(error.message),
      );
    refused('Placed.v1', /^upcasters is 'Placed\.v1'; allowed/);
    refused([() => ({})], /^upcasters is a list of 1 item; allowed/);
    refused(null, /^upcasters is null; allowed/);
    refused({ 'Placed.v1': 'Placed.v2' }, /^upcasters\['Placed\.v1'\] is 'Placed\.v2'; allowed/);
    refused({ 'Placed.v1': { to: 'Placed.v2' } }, /^upcasters\['Placed\.v1'\] is an object; allowed/);
  });
});
