/**
 * What the server adds to the store: authentication and roles, page and NDJSON formats, Server-Sent
 * Events, operations endpoints, request ids, and a clean shutdown. The conformance suite through the
 * client (src/client/client.test.ts) covers the store's behaviour over HTTP.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { openEventStore } from '../engines/open.js';
import type { EventStore } from '../store/event-store.js';
import { createAuthenticator } from '../auth/tokens.js';
import { httpCall, sseUntil } from './testing/http.js';
import { serveForSuite, serveForTest } from './testing/serve.js';

const tokens = {
  admin: 'admin-token-0123456789',
  writer: 'writer-token-0123456789',
  reader: 'reader-token-0123456789',
  orders: 'orders-writer-0123456789',
  other: 'other-writer-0123456789',
  billing: 'billing-writer-0123456789',
};
const authenticator = createAuthenticator([
  { name: 'admin', role: 'admin', token: tokens.admin },
  { name: 'writer', role: 'writer', token: tokens.writer },
  { name: 'reader', role: 'reader', token: tokens.reader },
  { name: 'orders', role: 'writer', token: tokens.orders, streams: ['order-'] },
  { name: 'other', role: 'writer', token: tokens.other },
  { name: 'billing', role: 'writer', token: tokens.billing },
]);

/** Reads Server-Sent Events until `until` says enough; returns the raw messages. */
const readEvents = async (url: string, path: string, until: (messages: string[]) => boolean, headers: Record<string, string> = {}) => {
  const messagesOf = (text: string) => text.split('\n\n').slice(0, -1);
  const { status, text } = await sseUntil(url, path, (received) => until(messagesOf(received)), { token: tokens.admin, headers });
  assert.equal(status, 200);
  return messagesOf(text);
};

describe('server', () => {
  const suite = serveForSuite({ authenticator, token: tokens.admin, heartbeatMs: 50 });

  before(async () => {
    for (let i = 0; i < 5; i++) await suite.store.append('order-1', [{ type: 'Placed', data: { i } }]);
    await suite.store.append('user-1', [{ type: 'Registered', data: {} }]);
  });

  describe('authentication', () => {
    it('refuses a missing, malformed or unknown token with 401 and a Bearer challenge', async () => {
      const challenges: Record<string, string>[] = [{}, { authorization: 'Basic abc' }, { authorization: 'Bearer nope-nope-nope-nope' }];
      for (const headers of challenges) {
        const answer = await httpCall(suite.url, 'GET', '/streams/order-1', { headers });
        assert.equal(answer.status, 401);
        assert.equal(answer.headers['content-type'], 'application/problem+json; charset=utf-8');
        assert.equal(answer.json().code, 'unauthenticated');
        assert.equal(answer.headers['www-authenticate'], 'Bearer');
      }
    });

    it('lets anyone ask for health, and nobody without a token for anything else', async () => {
      assert.equal((await httpCall(suite.url, 'GET', '/health/live')).status, 200);
      assert.equal((await httpCall(suite.url, 'GET', '/health/ready')).json().status, 'ready');
      for (const path of ['/all', '/stats', '/metrics', '/subscribe/all', '/no-such-route']) {
        assert.equal((await httpCall(suite.url, 'GET', path)).status, 401, path);
      }
    });

    it('gives each role what it may do and no more', async () => {
      const append = (token: string, stream: string) =>
        httpCall(suite.url, 'POST', `/streams/${stream}`, { token, body: { events: [{ type: 'Tried', data: {} }] } });
      assert.equal((await append(tokens.reader, 'order-9')).json().code, 'access_denied');
      assert.equal((await append(tokens.reader, 'order-9')).status, 403);
      assert.equal((await append(tokens.writer, 'order-9')).status, 200);
      assert.equal((await httpCall(suite.url, 'GET', '/streams/order-9', { token: tokens.reader })).status, 200);
      assert.equal((await httpCall(suite.url, 'DELETE', '/streams/order-9', { token: tokens.writer })).status, 403);
      assert.equal(
        (await httpCall(suite.url, 'PUT', '/streams/order-9/metadata', { token: tokens.writer, body: { maxCount: 1 } })).status,
        403,
      );
      assert.equal((await httpCall(suite.url, 'DELETE', '/streams/order-9', { token: tokens.admin })).status, 204);
      const stats = await httpCall(suite.url, 'GET', '/stats', { token: tokens.reader });
      assert.equal(stats.status, 200);
      const { readOnly, rates, subscriptions } = stats.json();
      assert.equal(readOnly, null);
      assert.equal(typeof subscriptions, 'number');
      assert.ok(rates.appendedEventsPerSecond > 0, 'the appends above count');
      assert.ok(rates.windowSeconds > 0 && rates.windowSeconds <= 65, `window ${rates.windowSeconds}`);
    });

    it('keeps a token limited to prefixes inside them, on streams and on $all', async () => {
      assert.equal(
        (await httpCall(suite.url, 'POST', '/streams/user-2', { token: tokens.orders, body: { events: [{ type: 'X', data: 1 }] } })).status,
        403,
      );
      assert.equal((await httpCall(suite.url, 'GET', '/streams/user-1', { token: tokens.orders })).status, 403);
      const all = await httpCall(suite.url, 'GET', '/all?limit=1000', { token: tokens.orders });
      assert.equal(all.status, 200);
      const streams = new Set(all.json().events.map((e: { stream: string }) => e.stream));
      assert.ok(streams.has('order-1') && !streams.has('user-1'), [...streams].join());
      assert.equal((await httpCall(suite.url, 'GET', '/all?streams=user-', { token: tokens.orders })).status, 403);
      assert.equal((await httpCall(suite.url, 'GET', '/all?streams=order-1', { token: tokens.orders })).status, 200);
      assert.equal((await httpCall(suite.url, 'GET', '/stats', { token: tokens.orders })).status, 403);
      assert.equal((await httpCall(suite.url, 'GET', '/metrics', { token: tokens.orders })).status, 403);
    });
  });

  describe('stream acls', () => {
    it('narrow who may read and write a stream, by token name or role; admins always may', async () => {
      const acl = { read: { tokens: ['billing', 'other'] }, write: { tokens: ['billing'] } };
      assert.equal((await httpCall(suite.url, 'PUT', '/streams/secret-1/metadata', { token: tokens.admin, body: { acl } })).status, 204);
      const append = (token: string) =>
        httpCall(suite.url, 'POST', '/streams/secret-1', { token, body: { events: [{ type: 'Kept', data: {} }] } });
      assert.equal((await append(tokens.billing)).status, 200, 'named by token name');
      assert.equal((await append(tokens.admin)).status, 200, 'admins always may');
      assert.equal((await append(tokens.other)).json().code, 'access_denied');
      assert.equal((await httpCall(suite.url, 'GET', '/streams/secret-1', { token: tokens.other })).status, 200);
      assert.equal((await httpCall(suite.url, 'GET', '/streams/secret-1', { token: tokens.reader })).json().code, 'access_denied');
      assert.equal((await httpCall(suite.url, 'GET', '/subscribe/streams/secret-1', { token: tokens.reader })).status, 403);
      assert.equal(
        (
          await httpCall(suite.url, 'PUT', '/streams/secret-1/metadata', {
            token: tokens.admin,
            body: { acl: { read: { roles: ['reader'] } } },
          })
        ).status,
        204,
      );
      assert.equal(
        (await httpCall(suite.url, 'GET', '/streams/secret-1', { token: tokens.reader })).status,
        200,
        'named by role; a change applies at once',
      );
      assert.equal((await append(tokens.other)).status, 200, 'no write list: roles decide');
    });
  });

  describe('KurrentDB habits', () => {
    it('reads the global log at /streams/$all as at /all', async () => {
      const all = (await httpCall(suite.url, 'GET', '/all?limit=3', { token: tokens.reader })).json();
      const alias = await httpCall(suite.url, 'GET', '/streams/$all?limit=3', { token: tokens.reader });
      assert.equal(alias.status, 200, alias.text);
      assert.deepEqual(alias.json(), all);
      const encoded = await httpCall(suite.url, 'GET', '/streams/%24all?limit=1', { token: tokens.reader });
      assert.equal(encoded.status, 308);
      assert.equal(encoded.headers.location, '../all?limit=1');
    });
  });

  describe('reads', () => {
    it('answers in JSON pages that link to the next one', async () => {
      const first = (await httpCall(suite.url, 'GET', '/streams/order-1?limit=2', { token: tokens.reader })).json();
      assert.deepEqual(
        first.events.map((e: { revision: number }) => e.revision),
        [0, 1],
      );
      assert.equal(first.next, '2');
      const last = (await httpCall(suite.url, 'GET', `/streams/order-1?limit=3&from=${first.next}`, { token: tokens.reader })).json();
      assert.deepEqual(
        last.events.map((e: { revision: number }) => e.revision),
        [2, 3, 4],
      );
      const backwards = (await httpCall(suite.url, 'GET', '/streams/order-1?direction=backwards&limit=5', { token: tokens.reader })).json();
      assert.deepEqual(
        backwards.events.map((e: { revision: number }) => e.revision),
        [4, 3, 2, 1, 0],
      );
      assert.equal(backwards.next, undefined);
      const page = (await httpCall(suite.url, 'GET', '/all?limit=1', { token: tokens.reader })).json();
      assert.equal(typeof page.events[0].position, 'string');
      assert.equal(page.next, String(BigInt(page.events[0].position) + 1n));
    });

    it('streams NDJSON on request', async () => {
      const answer = await httpCall(suite.url, 'GET', '/streams/order-1', {
        token: tokens.reader,
        headers: { accept: 'application/x-ndjson' },
      });
      assert.equal(answer.headers['content-type'], 'application/x-ndjson');
      const lines = answer.text
        .trimEnd()
        .split('\n')
        .map((line) => JSON.parse(line));
      assert.deepEqual(
        lines.map((e) => e.revision),
        [0, 1, 2, 3, 4],
      );
    });

    it('says 404 stream_not_found for an absent stream and 410 for a tombstoned one', async () => {
      const absent = await httpCall(suite.url, 'GET', '/streams/never-written', { token: tokens.reader });
      assert.equal(absent.status, 404);
      assert.equal(absent.json().code, 'stream_not_found');
      await suite.store.append('gone-1', [{ type: 'X', data: 1 }]);
      await suite.store.tombstoneStream('gone-1');
      const gone = await httpCall(suite.url, 'GET', '/streams/gone-1', { token: tokens.reader });
      assert.equal(gone.status, 410);
      assert.equal(gone.json().code, 'stream_deleted');
    });
  });

  describe('subscriptions', () => {
    it('send history with positions as ids, caught-up, heartbeats, then live events', async () => {
      const live = setTimeout(() => void suite.store.append('order-1', [{ type: 'Live', data: {} }]), 150);
      const messages = await readEvents(suite.url, '/subscribe/streams/order-1', (m) => m.some((text) => text.includes('"Live"')));
      clearTimeout(live);
      const events = messages.filter((text) => text.startsWith('id: '));
      const history = await suite.store.readStream('order-1');
      assert.deepEqual(
        events.slice(0, history.length).map((text) => text.split('\n')[0]),
        history.map((e) => `id: ${e.position}`),
      );
      const caughtUp = messages.findIndex((text) => text.startsWith('event: caught-up'));
      assert.ok(caughtUp > 0 && messages.slice(caughtUp).some((text) => text === ': heartbeat'));
    });

    it('resume after Last-Event-ID, on a stream and on $all', async () => {
      const history = await suite.store.readStream('order-1');
      const resumeAfter = history[2]!;
      const onStream = await readEvents(suite.url, '/subscribe/streams/order-1', (m) => m.some((t) => t.startsWith('event: caught-up')), {
        'last-event-id': String(resumeAfter.position),
      });
      assert.deepEqual(
        onStream.filter((t) => t.startsWith('id: ')).map((t) => JSON.parse(t.split('\ndata: ')[1]!).revision),
        history.slice(3).map((e) => e.revision),
      );
      const onAll = await readEvents(suite.url, '/subscribe/all?from=start', (m) => m.some((t) => t.startsWith('event: caught-up')), {
        'last-event-id': String(resumeAfter.position),
      });
      const first = onAll.find((t) => t.startsWith('id: '))!;
      assert.equal(BigInt(first.split('\n')[0]!.slice(4)), resumeAfter.position + 1n);
    });

    it('refuse a Last-Event-ID that is not a position', async () => {
      const answer = await httpCall(suite.url, 'GET', '/subscribe/all', { token: tokens.reader, headers: { 'last-event-id': 'abc' } });
      assert.equal(answer.status, 400);
      assert.equal(answer.json().code, 'invalid_argument');
    });
  });

  describe('operations', () => {
    it('exports Prometheus metrics of appends, reads, errors and the event loop', async () => {
      await httpCall(suite.url, 'GET', '/streams/order-1', { token: tokens.reader });
      await httpCall(suite.url, 'GET', '/streams/order-1', { token: 'wrong-token-0123456789' });
      const text = (await httpCall(suite.url, 'GET', '/metrics', { token: tokens.admin })).text;
      for (const name of [
        'annals_http_request_duration_seconds_bucket',
        'annals_appended_events_total',
        'annals_read_events_total{source="stream"}',
        'annals_errors_total{code="unauthenticated"}',
        'annals_subscriptions_active',
        'nodejs_eventloop_lag_seconds',
      ]) {
        assert.ok(text.includes(name), name);
      }
      assert.match(text, /annals_http_request_duration_seconds_count\{method="POST",route="\/streams\/:stream",status="200"\} [1-9]/);
    });

    it('publishes an OpenAPI document of its routes', async () => {
      const document = (await httpCall(suite.url, 'GET', '/openapi.json')).json();
      assert.equal(document.openapi.startsWith('3.'), true);
      for (const path of ['/streams/{stream}', '/streams/{stream}/metadata', '/all', '/subscribe/all', '/health/ready', '/metrics']) {
        assert.ok(path in document.paths, path);
      }
    });

    it('echoes a request id, or makes one', async () => {
      const given = await httpCall(suite.url, 'GET', '/health/live', { headers: { 'x-request-id': 'trace-42' } });
      assert.equal(given.headers['x-request-id'], 'trace-42');
      const made = await httpCall(suite.url, 'GET', '/health/live', { headers: { 'x-request-id': 'bad id with spaces' } });
      assert.match(String(made.headers['x-request-id']), /^[0-9a-f-]{36}$/);
      const refused = await httpCall(suite.url, 'GET', '/all', { headers: { 'x-request-id': 'trace-43' } });
      assert.equal(refused.status, 401);
      assert.equal(refused.headers['x-request-id'], 'trace-43');
    });

    it('answers a bug with a problem that gives no detail away', async () => {
      const broken: EventStore = { ...suite.store, stats: async () => Promise.reject(new Error('secret internals at /srv/db')) };
      const served = await serveForTest(broken, { closeStore: false });
      try {
        const answer = await httpCall(served.url, 'GET', '/stats');
        assert.equal(answer.status, 500);
        assert.equal(answer.json().code, 'internal');
        assert.doesNotMatch(answer.text, /secret|srv|stack|at /);
      } finally {
        await served.client.close();
      }
    });
  });
});

describe('server shutdown', () => {
  it('finishes in-flight appends, ends subscriptions and closes the store', async () => {
    const store = await openEventStore({ engine: 'memory' });
    let started = 0;
    // Appends that take a while, so that the server closes while all of them are in flight.
    const slow: EventStore = {
      ...store,
      append: async (...args) => {
        started++;
        await new Promise((resolve) => setTimeout(resolve, 100));
        return store.append(...args);
      },
    };
    const { server, url, client } = await serveForTest(slow, { closeStore: true });
    const subscription = client.subscribe({ stream: 'a-1' });
    const messages = subscription[Symbol.asyncIterator]();
    assert.deepEqual((await messages.next()).value, { caughtUp: true });
    const appends = Array.from({ length: 20 }, (_, i) => client.append('a-1', [{ type: 'E', data: { i } }]));
    while (started < appends.length) await new Promise((resolve) => setTimeout(resolve, 5));
    // An open subscription would hold close() for ever: that it returns shows the server ended it.
    await server.close();
    assert.equal((await Promise.all(appends)).length, 20, 'every append in flight was acknowledged');
    await assert.rejects(store.stats(), { code: 'unavailable' });
    await assert.rejects(httpCall(url, 'GET', '/health/live'));
    await client.close();
  });
});
