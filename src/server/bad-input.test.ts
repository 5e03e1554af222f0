/**
 * Bad input over HTTP: each case is a 4xx problem with the right code and writes nothing; then a
 * randomised test sends thousands of malformed, mistyped, oversized and unauthorised requests and checks
 * that none gets a 5xx, every refusal is a well-formed problem, and the store holds exactly the events of
 * the appends that were acknowledged.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { withSeed } from '../testing/seed.js';
import { request } from 'undici';
import type { EventStore } from '../store/event-store.js';
import { openEventStore } from '../engines/open.js';
import { createAuthenticator } from '../auth/tokens.js';
import { httpCall, type Answer } from './testing/http.js';
import { serveForTest } from './testing/serve.js';

const tokens = { admin: 'admin-token-0123456789', reader: 'reader-token-0123456789', orders: 'orders-writer-0123456789' };
const authenticator = createAuthenticator([
  { name: 'admin', role: 'admin', token: tokens.admin },
  { name: 'reader', role: 'reader', token: tokens.reader },
  { name: 'orders', role: 'writer', token: tokens.orders, streams: ['order-'] },
]);
const statusOf: Record<string, number[]> = {
  invalid_argument: [400, 404, 405, 406, 411, 413, 414, 415, 431],
  unauthenticated: [401],
  access_denied: [403],
  not_found: [404],
  stream_not_found: [404],
  wrong_expected_revision: [409],
  stream_deleted: [410],
  payload_too_large: [413],
};

const dir = mkdtempSync(join(tmpdir(), 'annals-bad-input-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const assertProblem = (answer: Answer, status: number, code: string) => {
  assert.equal(answer.status, status, answer.text);
  assert.equal(answer.headers['content-type'], 'application/problem+json; charset=utf-8');
  const body = answer.json();
  assert.equal(body.code, code, answer.text);
  assert.equal(body.status, status);
  assert.equal(typeof body.detail, 'string');
};

describe('bad input over HTTP', () => {
  let store: EventStore;
  let url: string;
  let close: () => Promise<void>;
  const events = async () => (await store.stats()).events;

  before(async () => {
    store = await openEventStore({ engine: 'sqlite', path: join(dir, 'bad.db'), limits: { maxEventBytes: 4096, maxAppendEvents: 20 } });
    const served = await serveForTest(store, { authenticator, bodyLimitBytes: 64 * 1024 });
    url = served.url;
    close = () => served.client.close();
    await store.append('order-1', [{ type: 'Placed', data: {} }]);
  });
  after(() => close());

  const valid = { events: [{ type: 'Placed', data: { total: 1 } }] };
  const cases: [
    title: string,
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    path: string,
    options: Parameters<typeof httpCall>[3],
    status: number,
    code: string,
  ][] = [
    ['malformed JSON', 'POST', '/streams/order-2', { body: '{"events": [' }, 400, 'invalid_argument'],
    ['an empty body', 'POST', '/streams/order-2', { body: '' }, 400, 'invalid_argument'],
    [
      'a body that is not JSON',
      'POST',
      '/streams/order-2',
      { body: 'events', headers: { 'content-type': 'text/plain' } },
      415,
      'invalid_argument',
    ],
    ['events that are not a list', 'POST', '/streams/order-2', { body: { events: { type: 'A', data: 1 } } }, 400, 'invalid_argument'],
    ['no events', 'POST', '/streams/order-2', { body: { events: [] } }, 400, 'invalid_argument'],
    ['an event type that is a number', 'POST', '/streams/order-2', { body: { events: [{ type: 7, data: 1 }] } }, 400, 'invalid_argument'],
    ['an event without data', 'POST', '/streams/order-2', { body: { events: [{ type: 'A' }] } }, 400, 'invalid_argument'],
    ['an unknown field', 'POST', '/streams/order-2', { body: { ...valid, force: true } }, 400, 'invalid_argument'],
    [
      'an unknown event field',
      'POST',
      '/streams/order-2',
      { body: { events: [{ type: 'A', data: 1, when: 'now' }] } },
      400,
      'invalid_argument',
    ],
    [
      'an id that is not a UUID',
      'POST',
      '/streams/order-2',
      { body: { events: [{ id: 'x', type: 'A', data: 1 }] } },
      400,
      'invalid_argument',
    ],
    [
      'metadata that is not an object',
      'POST',
      '/streams/order-2',
      { body: { events: [{ type: 'A', data: 1, metadata: [1] }] } },
      400,
      'invalid_argument',
    ],
    ['a negative revision', 'POST', '/streams/order-2', { body: { ...valid, expectedRevision: -1 } }, 400, 'invalid_argument'],
    ['a fractional revision', 'POST', '/streams/order-2', { body: { ...valid, expectedRevision: 1.5 } }, 400, 'invalid_argument'],
    ['a revision as a string', 'POST', '/streams/order-2', { body: { ...valid, expectedRevision: '3' } }, 400, 'invalid_argument'],
    ['an unknown revision form', 'POST', '/streams/order-2', { body: { ...valid, expectedRevision: 'latest' } }, 400, 'invalid_argument'],
    ['a huge body', 'POST', '/streams/order-2', { body: { events: [{ type: 'A', data: 'x'.repeat(100_000) }] } }, 413, 'payload_too_large'],
    [
      'an event over the event limit',
      'POST',
      '/streams/order-2',
      { body: { events: [{ type: 'A', data: 'x'.repeat(5000) }] } },
      413,
      'payload_too_large',
    ],
    [
      'too many events',
      'POST',
      '/streams/order-2',
      { body: { events: Array.from({ length: 21 }, () => ({ type: 'A', data: 1 })) } },
      413,
      'payload_too_large',
    ],
    ['invalid UTF-8 in a stream name', 'POST', '/streams/order-%FF', { body: valid }, 400, 'invalid_argument'],
    ['an overlong UTF-8 sequence', 'POST', '/streams/order-%C0%AF', { body: valid }, 400, 'invalid_argument'],
    ['a control character in a stream name', 'POST', '/streams/order-%00x', { body: valid }, 400, 'invalid_argument'],
    ['a newline in a stream name', 'POST', '/streams/order-%0Ax', { body: valid }, 400, 'invalid_argument'],
    ['a stream name over 255 bytes', 'POST', `/streams/order-${'é'.repeat(130)}`, { body: valid }, 400, 'invalid_argument'],
    ['a system stream written by a user', 'POST', '/streams/%24system', { body: valid }, 400, 'invalid_argument'],
    ['a negative revision in a delete', 'DELETE', '/streams/order-1?expectedRevision=-1', {}, 400, 'invalid_argument'],
    ['a fractional from', 'GET', '/streams/order-1?from=0.5', {}, 400, 'invalid_argument'],
    ['a zero limit', 'GET', '/all?limit=0', {}, 400, 'invalid_argument'],
    ['an unknown query parameter', 'GET', '/all?everything=1', {}, 400, 'invalid_argument'],
    ['a category with a dash', 'GET', '/all?category=a-b', {}, 400, 'invalid_argument'],
    ['unknown metadata', 'PUT', '/streams/order-1/metadata', { body: { maxCount: 1, owner: 'me' } }, 400, 'invalid_argument'],
  ];

  for (const [title, method, path, options, status, code] of cases) {
    it(`${title}: ${status} ${code}, nothing written`, async () => {
      const before = await events();
      assertProblem(await httpCall(url, method, path, { token: tokens.admin, ...options }), status, code);
      assert.equal(await events(), before);
    });
  }

  // Each refusal names the field, what was given and what is allowed, in words (never a pattern).
  const details: [method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body: unknown, detail: string][] = [
    ['GET', '/streams/order-1?direction=backward', undefined, "querystring.direction is 'backward'; allowed: 'forwards' or 'backwards'"],
    ['GET', '/streams/order-1?foo=1', undefined, "querystring has unknown parameter 'foo'; allowed: from, direction, limit"],
    ['GET', '/all?from=abc', undefined, "querystring.from is 'abc'; allowed: a position (digits), 'start' or 'end'"],
    ['GET', '/streams/order-1?from=-1', undefined, "querystring.from is '-1'; allowed: a revision (digits), 'start' or 'end'"],
    ['GET', '/all?limit=0', undefined, "querystring.limit is '0'; allowed: a positive integer (digits)"],
    ['GET', '/all?category=', undefined, "querystring.category is ''; allowed: a string of at least 1 character"],
    ['GET', '/all?category=a-b', undefined, "filter.category is 'a-b'; allowed: a category (a name without '-')"],
    [
      'GET',
      `/all?${Array.from({ length: 101 }, () => 'types=A').join('&')}`,
      undefined,
      'querystring.types is a list of 101 items; allowed: a string, or up to 100 of them (repeat the parameter)',
    ],
    ['GET', '/subscribe/all?from=x', undefined, "querystring.from is 'x'; allowed: the position to start after (digits), 'start' or 'end'"],
    ['DELETE', '/streams/order-1?hard=yes', undefined, "querystring.hard is 'yes'; allowed: 'true' or 'false'"],
    [
      'DELETE',
      '/streams/order-1?expectedRevision=x',
      undefined,
      "querystring.expectedRevision is 'x'; allowed: a revision (digits), 'any', 'no_stream' or 'stream_exists'",
    ],
    [
      'POST',
      '/streams/order-2',
      { events: [{ type: 'A', data: 1, kind: 'x' }] },
      "body.events[0] has unknown field 'kind'; allowed: id, type, data, metadata",
    ],
    ['POST', '/streams/order-2', { ...valid, force: true }, "body has unknown field 'force'; allowed: expectedRevision, events"],
    ['POST', '/streams/order-2', { events: [{ type: 7, data: 1 }] }, 'body.events[0].type is 7; allowed: a string of 1 to 255 characters'],
    [
      'POST',
      '/streams/order-2',
      { events: [{ type: '', data: 1 }] },
      "body.events[0].type is ''; allowed: a string of 1 to 255 characters",
    ],
    ['POST', '/streams/order-2', { events: [{ data: 1 }] }, 'body.events[0].type is missing; allowed: a string of 1 to 255 characters'],
    ['POST', '/streams/order-2', { events: [{ type: 'A' }] }, 'body.events[0].data is missing; allowed: any JSON value'],
    ['POST', '/streams/order-2', { events: [] }, 'body.events is a list of 0 items; allowed: a list of at least 1 item'],
    ['POST', '/streams/order-2', { events: { type: 'A' } }, 'body.events is an object; allowed: a list of at least 1 item'],
    ['POST', '/streams/order-2', [1], 'body is a list of 1 item; allowed: an object'],
    ['POST', '/streams/order-2', { events: [{ id: 'x', type: 'A', data: 1 }] }, "body.events[0].id is 'x'; allowed: a UUID"],
    [
      'POST',
      '/streams/order-2',
      { events: [{ type: 'A', data: 1, metadata: [1] }] },
      'body.events[0].metadata is a list of 1 item; allowed: an object',
    ],
    [
      'POST',
      '/streams/order-2',
      { ...valid, expectedRevision: 'latest' },
      "body.expectedRevision is 'latest'; allowed: 'any', 'no_stream', 'stream_exists' or a revision (an integer >= 0)",
    ],
    [
      'POST',
      '/streams/order-2',
      { ...valid, expectedRevision: 1.5 },
      "body.expectedRevision is 1.5; allowed: 'any', 'no_stream', 'stream_exists' or a revision (an integer >= 0)",
    ],
    ['PUT', '/streams/order-1/metadata', { maxCount: -1 }, 'body.maxCount is -1; allowed: an integer >= 0'],
    [
      'PUT',
      '/streams/order-1/metadata',
      { owner: 'me' },
      "body has unknown field 'owner'; allowed: maxCount, maxAgeSeconds, truncateBefore, acl, custom",
    ],
    ['POST', '/streams/order-2', '{"events": [', 'body is not valid JSON (Unexpected end of JSON input)'],
    [
      'POST',
      '/streams/order-2',
      '{"events":[{"type":"A","data":{"__proto__":{"x":1}}}]}',
      "body holds a '__proto__' or 'constructor.prototype' key; allowed: other keys",
    ],
  ];

  for (const [method, path, body, detail] of details) {
    it(`says what is wrong: ${method} ${path.slice(0, 50)} ${JSON.stringify(body) ?? ''}`, async () => {
      const answer = await httpCall(url, method, path, { token: tokens.admin, ...(body === undefined ? {} : { body }) });
      assertProblem(answer, 400, 'invalid_argument');
      assert.equal(answer.json().detail, detail);
    });
  }

  it('says what is wrong with a body Fastify refuses before parsing it: too large, not JSON', async () => {
    const large = await httpCall(url, 'POST', '/streams/order-2', {
      token: tokens.admin,
      body: { events: [{ type: 'A', data: 'x'.repeat(70_000) }] },
    });
    assertProblem(large, 413, 'payload_too_large');
    assert.equal(large.json().detail, `body is larger than allowed; allowed: at most ${64 * 1024} bytes`);
    const text = await httpCall(url, 'POST', '/streams/order-2', {
      token: tokens.admin,
      body: 'events',
      headers: { 'content-type': 'text/plain' },
    });
    assertProblem(text, 415, 'invalid_argument');
    assert.equal(text.json().detail, "content-type is 'text/plain'; allowed: application/json");
  });

  it('a missing or wrong token: 401 unauthenticated, nothing written', async () => {
    const before = await events();
    assertProblem(await httpCall(url, 'POST', '/streams/order-2', { body: valid }), 401, 'unauthenticated');
    assertProblem(await httpCall(url, 'POST', '/streams/order-2', { body: valid, token: `${tokens.admin}x` }), 401, 'unauthenticated');
    assert.equal(await events(), before);
  });

  it('a reader writing, a writer outside its prefixes: 403 access_denied, nothing written', async () => {
    const before = await events();
    assertProblem(await httpCall(url, 'POST', '/streams/order-2', { body: valid, token: tokens.reader }), 403, 'access_denied');
    assertProblem(await httpCall(url, 'POST', '/streams/user-2', { body: valid, token: tokens.orders }), 403, 'access_denied');
    assertProblem(await httpCall(url, 'DELETE', '/streams/order-1', { token: tokens.orders }), 403, 'access_denied');
    assert.equal(await events(), before);
  });

  it('stream names with #, %, ? and spaces work when encoded, and the raw characters never reach another stream', async () => {
    const name = ' #%?';
    const path = `/streams/${encodeURIComponent(name)}`;
    assert.equal((await httpCall(url, 'POST', path, { token: tokens.admin, body: valid })).status, 200);
    assert.deepEqual(
      (await httpCall(url, 'GET', path, { token: tokens.admin })).json().events.map((event: { stream: string }) => event.stream),
      [name],
    );
    assert.equal((await httpCall(url, 'DELETE', path, { token: tokens.admin })).status, 204);
    assert.deepEqual(await store.readStream(name), []);
  });

  it('thousands of random bad requests: never a 5xx, always a problem, only acknowledged events stored', () =>
    withSeed(import.meta.url, async (seed) => {
      const names = fc.oneof(
        fc.constantFrom('order-1', 'order-2', 'user-1', '$all', '%24sys', '%FF', '%C3%28', '%00', '..', '%2F', 'a%20b', 'order-%E2%80%AE'),
        fc.string({ unit: 'binary', maxLength: 300 }).map((name) => encodeURIComponent(name.replace(/[\uD800-\uDFFF]/g, '')) || 'x'),
        fc.string({ maxLength: 20 }),
      );
      const bodies = fc.oneof(
        fc.constant(valid),
        fc.jsonValue({ maxDepth: 3 }),
        fc.record(
          {
            expectedRevision: fc.oneof(fc.integer({ min: -3, max: 5 }), fc.double(), fc.constantFrom('any', 'no_stream', 'x', null)),
            events: fc.array(
              fc.record(
                {
                  type: fc.oneof(fc.string({ maxLength: 5 }), fc.integer()),
                  data: fc.jsonValue({ maxDepth: 2 }),
                  id: fc.oneof(fc.uuid(), fc.string()),
                },
                { requiredKeys: ['data'] },
              ),
              { maxLength: 25 },
            ),
            extra: fc.anything({ maxDepth: 1 }),
          },
          { requiredKeys: [] },
        ),
        fc.string({ unit: 'binary', maxLength: 200 }),
        fc.constant(`{"events":[{"type":"A","data":"${'x'.repeat(70_000)}"}]}`),
      );
      const requests = fc.record({
        method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE') as fc.Arbitrary<'GET' | 'POST' | 'PUT' | 'DELETE'>,
        path: fc.oneof(
          names.map((name) => `/streams/${name}`),
          names.map((name) => `/streams/${name}/metadata`),
          fc
            .tuple(names, fc.string({ maxLength: 30 }))
            .map(([name, query]) => `/streams/${name}?${encodeURI(query.replace(/[\uD800-\uDFFF]/g, ''))}`),
          fc.constantFrom(
            '/all?limit=-1',
            '/all?from=x',
            '/all?types=',
            '/all?streams=user-',
            '/subscribe/all?from=-1',
            '/subscribe/streams/%FF',
            '/nope',
            '/',
          ),
        ),
        body: fc.option(bodies, { nil: undefined }),
        token: fc.constantFrom(tokens.admin, tokens.reader, tokens.orders, 'wrong-token-0123456789', undefined),
        contentType: fc.constantFrom('application/json', 'application/json', 'text/plain', 'application/x-www-form-urlencoded'),
      });

      // Per stream, the events acknowledged appends wrote: one per event without an id, one per distinct id
      // (a repeated id is an idempotent replay, which writes nothing). Deletes that succeed remove events.
      const written = new Map([['order-1', { withoutId: await events(), ids: new Set<string>() }]]);
      const deleted = new Set<string>();
      let sent = 0;
      await fc.assert(
        fc.asyncProperty(requests, async ({ method, path, body, token, contentType }) => {
          sent++;
          const headers: Record<string, string> = { 'content-type': contentType };
          if (token !== undefined) headers.authorization = `Bearer ${token}`;
          const hasBody = body !== undefined && method !== 'GET';
          const controller = new AbortController();
          const response = await request(`${url}${path}`, {
            method,
            headers,
            body: hasBody ? (typeof body === 'string' ? body : JSON.stringify(body)) : undefined,
            signal: controller.signal,
          });
          if (String(response.headers['content-type']).startsWith('text/event-stream')) {
            controller.abort();
            return;
          }
          const text = await response.body.text();
          assert.ok(response.statusCode < 500, `${method} ${path} answered ${response.statusCode}: ${text}`);
          if (response.statusCode >= 400) {
            assert.equal(response.headers['content-type'], 'application/problem+json; charset=utf-8', `${method} ${path}`);
            const problem = JSON.parse(text);
            assert.ok(statusOf[problem.code]?.includes(response.statusCode), `${response.statusCode} ${problem.code}`);
            assert.doesNotMatch(text, /\n\s+at /, 'no stack trace');
          } else if (/^\/streams\/[^/]+\/?$/.test(new URL(path, url).pathname)) {
            // The stream the server saw: the path as the client sent it (parsed as a URL: no query, no
            // fragment, '\\' read as '/'), without a trailing slash, decoded.
            const stream = decodeURIComponent(new URL(path, url).pathname.slice('/streams/'.length).replace(/\/$/, ''));
            if (method === 'DELETE') deleted.add(stream);
            if (method !== 'POST') return;
            const entry = written.get(stream) ?? { withoutId: 0, ids: new Set<string>() };
            written.set(stream, entry);
            for (const { id } of (body as { events: { id?: string }[] }).events) {
              if (id === undefined) entry.withoutId++;
              else entry.ids.add(id.toLowerCase());
            }
          }
        }),
        { numRuns: Number(process.env.ANNALS_FUZZ_RUNS ?? 3000), seed },
      );
      assert.ok(sent >= 1000);
      const stored = new Map<string, number>();
      for await (const event of store.iterateAll()) stored.set(event.stream, (stored.get(event.stream) ?? 0) + 1);
      for (const [stream, count] of stored) {
        const entry = written.get(stream);
        assert.ok(entry !== undefined, `stream '${stream}' was written by no acknowledged append`);
        const expected = entry.withoutId + entry.ids.size;
        if (deleted.has(stream)) assert.ok(count <= expected, stream);
        else assert.equal(count, expected, stream);
      }
      for (const stream of written.keys()) if (!deleted.has(stream)) assert.ok(stored.has(stream), stream);
    }));
});
