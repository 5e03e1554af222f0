/**
 * Consumer groups over HTTP: each route, its status codes and problem+json refusals, who may call it
 * (admin, reader, a token limited to prefixes, stream ACLs), push over SSE with credits, and what a
 * client that goes away leaves behind. The group contract itself runs through the client in
 * src/client/client.int.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { createAuthenticator } from '../auth/tokens.js';
import { connect } from '../client/connect.js';
import { httpCall } from './testing/http.js';
import { serveForSuite } from './testing/serve.js';
import { unreadableReason } from './routes/groups.js';

const tokens = {
  admin: 'admin-token-0123456789',
  reader: 'reader-token-0123456789',
  writer: 'writer-token-0123456789',
  orders: 'orders-reader-0123456789',
  ordersAdmin: 'orders-admin-0123456789',
  billing: 'billing-reader-0123456789',
};
const authenticator = createAuthenticator([
  { name: 'admin', role: 'admin', token: tokens.admin },
  { name: 'reader', role: 'reader', token: tokens.reader },
  { name: 'writer', role: 'writer', token: tokens.writer },
  { name: 'orders', role: 'reader', token: tokens.orders, streams: ['order-'] },
  { name: 'ordersAdmin', role: 'admin', token: tokens.ordersAdmin, streams: ['order-'] },
  { name: 'billing', role: 'reader', token: tokens.billing },
]);

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** An open push connection: the deliveries it got so far, and a way to wait for more. */
const openPush = async (url: string, path: string, token: string) => {
  const controller = new AbortController();
  const response = await request(`${url}${path}`, { headers: { authorization: `Bearer ${token}` }, signal: controller.signal });
  const state = { text: '', ended: false };
  const reading = (async () => {
    try {
      for await (const chunk of response.body) state.text += (chunk as Buffer).toString();
    } catch {
      // closed by the test
    } finally {
      state.ended = true;
    }
  })();
  const deliveries = () =>
    state.text
      .split('\n\n')
      .filter((message) => message.startsWith('event: delivery\n'))
      .map(
        (message) =>
          JSON.parse(message.split('\ndata: ')[1]!) as { id: string; attempt: number; event: { position: string; stream: string } },
      );
  const waitFor = async (check: () => boolean, what: string, ms = 5_000) => {
    const deadline = Date.now() + ms;
    while (!check()) {
      assert.ok(Date.now() < deadline, `timed out waiting for ${what}; got:\n${state.text}`);
      await sleep(10);
    }
  };
  return {
    status: response.statusCode,
    headers: response.headers,
    state,
    deliveries,
    waitFor,
    close: async () => {
      controller.abort();
      await reading;
    },
  };
};

describe('consumer groups over HTTP', () => {
  const suite = serveForSuite({ authenticator, token: tokens.admin, heartbeatMs: 50 });
  const call = (method: Method, path: string, body?: unknown, token = tokens.admin) => httpCall(suite.url, method, path, { token, body });
  const append = async (stream: string, count = 1) => {
    for (let index = 0; index < count; index++) await suite.store.append(stream, [{ type: 'Placed', data: { index } }]);
  };
  const pull = async (group: string, body: Record<string, unknown>, token = tokens.admin) => {
    const answer = await call('POST', `/groups/${group}/pull`, body, token);
    assert.equal(answer.status, 200, answer.text);
    return answer.json().deliveries as { id: string; attempt: number; replay: boolean; event: { position: string; stream: string } }[];
  };
  const refusal = (
    answer: { status: number; headers: Record<string, unknown>; json: () => { code: string; detail: string } },
    status: number,
    code: string,
    detail?: RegExp,
  ) => {
    assert.equal(answer.status, status);
    assert.equal(answer.headers['content-type'], 'application/problem+json; charset=utf-8');
    assert.equal(answer.json().code, code);
    if (detail !== undefined) assert.match(answer.json().detail, detail);
  };

  describe('settings', () => {
    it('PUT creates (201), finds the same (200), updates mutable settings (200), and refuses a change of source or from (409)', async () => {
      const created = await call('PUT', '/groups/billing', { source: { category: 'order' }, maxRetries: 3 });
      assert.equal(created.status, 201, created.text);
      assert.deepEqual(created.json(), {
        created: true,
        settings: {
          source: { category: 'order' },
          from: '0',
          strategy: 'round_robin',
          ackTimeoutMs: 30_000,
          maxRetries: 3,
          retryDelayMs: 1_000,
          maxInFlight: 1_000,
          maxPending: 10_000,
          consumerTimeoutMs: 60_000,
          paused: false,
        },
      });
      const same = await call('PUT', '/groups/billing', { source: { category: 'order' }, maxRetries: 3 });
      assert.equal(same.status, 200);
      assert.deepEqual(same.json(), { ...created.json(), created: false });

      const updated = await call('PUT', '/groups/billing', { source: { category: 'order' }, strategy: 'pinned' });
      assert.equal(updated.status, 200, updated.text);
      assert.equal(updated.json().settings.strategy, 'pinned');
      assert.equal(updated.json().settings.maxRetries, 10, 'PUT gives full settings: what is left out takes its default');

      refusal(await call('PUT', '/groups/billing', { source: { category: 'invoice' } }), 409, 'conflict', /source/);
      refusal(await call('PUT', '/groups/billing', { source: { category: 'order' }, from: '5' }), 409, 'conflict', /from/);
      refusal(await call('PUT', '/groups/billing', {}), 409, 'conflict', /source/);
      refusal(
        await call('PUT', '/groups/billing?update=false', { source: { category: 'order' }, maxRetries: 4 }),
        409,
        'conflict',
        /maxRetries/,
      );
      assert.equal(
        (await call('PUT', '/groups/billing', { source: { category: 'order' }, from: 'end', strategy: 'pinned' })).status,
        200,
        "from 'end' is no change",
      );
    });

    it("PUT from 'end' starts at the head; PATCH changes some settings and refuses fixed ones; GET, list and DELETE", async () => {
      await append('order-1', 2);
      const head = (await suite.store.stats()).headPosition;
      const created = await call('PUT', '/groups/late', { from: 'end' });
      assert.equal(created.json().settings.from, String(head));

      const patched = await call('PATCH', '/groups/late', { paused: true, maxInFlight: 5 });
      assert.equal(patched.status, 200, patched.text);
      assert.equal(patched.json().paused, true);
      assert.equal(patched.json().maxInFlight, 5);
      assert.deepEqual(patched.json().source, {});
      refusal(await call('PATCH', '/groups/late', { source: { stream: 'order-1' } }), 409, 'conflict', /source/);

      const info = await call('GET', '/groups/late');
      assert.equal(info.status, 200);
      const body = info.json();
      assert.equal(body.name, 'late');
      assert.equal(body.state, 'paused');
      assert.equal(typeof body.checkpoint, 'string');
      assert.equal(typeof body.lastPosition, 'string');
      assert.deepEqual(Object.keys(body.lag).sort(), ['estimated', 'events', 'seconds']);

      const listed = await call('GET', '/groups');
      assert.ok(listed.json().groups.some((group: { name: string }) => group.name === 'late'));
      assert.equal((await call('DELETE', '/groups/late')).status, 204);
      refusal(await call('GET', '/groups/late'), 404, 'not_found', /group 'late' does not exist/);
    });

    it('answers an unknown group with 404 on every route', async () => {
      const id = '1.1.1';
      const routes: [Method, string, unknown?][] = [
        ['GET', '/groups/nope'],
        ['PATCH', '/groups/nope', { paused: true }],
        ['DELETE', '/groups/nope'],
        ['POST', '/groups/nope/pull', { consumer: 'c1' }],
        ['POST', '/groups/nope/ack', { ids: [id] }],
        ['POST', '/groups/nope/nack', { ids: [id], action: 'retry' }],
        ['POST', '/groups/nope/extend', { ids: [id], ms: 1000 }],
        ['GET', '/groups/nope/parked'],
        ['POST', '/groups/nope/parked/replay', {}],
        ['DELETE', '/groups/nope/parked'],
        ['POST', '/groups/nope/replay', { from: '1' }],
        ['GET', '/subscribe/groups/nope?consumer=c1'],
      ];
      for (const [method, path, body] of routes) refusal(await call(method, path, body), 404, 'not_found', /nope/);
    });

    it('refuses bad input with problem+json that names the field', async () => {
      await call('PUT', '/groups/strict', {});
      refusal(await call('PUT', '/groups/strict', { colour: 'red' }), 400, 'invalid_argument', /body has unknown field 'colour'/);
      refusal(await call('PUT', '/groups/strict', { maxRetries: 'x' }), 400, 'invalid_argument', /body\.maxRetries is 'x'/);
      refusal(
        await call('PUT', '/groups/strict', { maxRetries: 5000 }),
        400,
        'invalid_argument',
        /maxRetries is 5000; allowed: an integer from 0 to 1000/,
      );
      refusal(
        await call('PUT', '/groups/strict', { from: 'later' }),
        400,
        'invalid_argument',
        /body\.from is 'later'; allowed: 'start', 'end' or a position/,
      );
      refusal(await call('PUT', '/groups/strict', { source: { stream: 'a', category: 'b' } }), 400, 'invalid_argument', /body\.source/);
      refusal(await call('PUT', '/groups/strict', { strategy: 'random' }), 400, 'invalid_argument', /body\.strategy is 'random'/);
      refusal(await call('POST', '/groups/strict/pull', {}), 400, 'invalid_argument', /body\.consumer is missing/);
      refusal(await call('POST', '/groups/strict/pull', { consumer: 'c1', max: 0 }), 400, 'invalid_argument', /body\.max is 0/);
      refusal(
        await call('POST', '/groups/strict/pull', { consumer: 'c1', waitMs: 40_000 }),
        400,
        'invalid_argument',
        /body\.waitMs is 40000/,
      );
      refusal(
        await call('POST', '/groups/strict/ack', { ids: ['x'] }),
        400,
        'invalid_argument',
        /body\.ids\[0\] is 'x'; allowed: a delivery id as pull returned it/,
      );
      refusal(await call('POST', '/groups/strict/ack', { ids: [] }), 400, 'invalid_argument', /body\.ids/);
      refusal(
        await call('POST', '/groups/strict/nack', { ids: ['1.1.1'], action: 'drop' }),
        400,
        'invalid_argument',
        /body\.action is 'drop'/,
      );
      refusal(await call('POST', '/groups/strict/extend', { ids: ['1.1.1'], ms: 0 }), 400, 'invalid_argument', /body\.ms is 0/);
      refusal(await call('GET', '/groups/strict/parked?after=-1'), 400, 'invalid_argument', /querystring\.after is '-1'/);
      refusal(await call('POST', '/groups/strict/replay', { from: 'start' }), 400, 'invalid_argument', /body\.from is 'start'/);
      refusal(await call('POST', '/groups/strict/replay', { from: '5', to: '2' }), 400, 'invalid_argument', /to is 2, below from/);
      refusal(await call('GET', '/subscribe/groups/strict'), 400, 'invalid_argument', /querystring\.consumer is missing/);
      refusal(await call('GET', '/subscribe/groups/strict?consumer=c1&max=0'), 400, 'invalid_argument', /querystring\.max is '0'/);

      await call('PUT', '/groups/other', {});
      await append('order-foreign');
      const [delivery] = await pull('other', { consumer: 'c1', waitMs: 1000 });
      refusal(
        await call('POST', '/groups/strict/ack', { ids: [delivery!.id] }),
        400,
        'invalid_argument',
        /ids\[0\] is '.*', a delivery of another group/,
      );
    });
  });

  describe('consuming', () => {
    it('pulls, acks, nacks (retry, park), extends; lists, replays and deletes parked events; replays a range', async () => {
      await call('PUT', '/groups/work', { source: { stream: 'work-1' }, retryDelayMs: 0 });
      await append('work-1', 3);
      const first = await pull('work', { consumer: 'c1', max: 2, waitMs: 1000 });
      assert.equal(first.length, 2);
      assert.equal(first[0]!.attempt, 1);
      assert.equal(first[0]!.replay, false);
      assert.equal(typeof first[0]!.event.position, 'string');

      const acked = await call('POST', '/groups/work/ack', { ids: [first[0]!.id] });
      assert.deepEqual(acked.json(), { settled: [first[0]!.id], alreadySettled: [], stale: [] });
      assert.deepEqual((await call('POST', '/groups/work/ack', { ids: [first[0]!.id] })).json().alreadySettled, [first[0]!.id]);

      const extended = await call('POST', '/groups/work/extend', { ids: [first[1]!.id], ms: 60_000 });
      assert.deepEqual(extended.json().settled, [first[1]!.id]);
      const retried = await call('POST', '/groups/work/nack', { ids: [first[1]!.id], action: 'retry', reason: 'later' });
      assert.deepEqual(retried.json().settled, [first[1]!.id]);

      const second = await pull('work', { consumer: 'c1', max: 2, waitMs: 1000 });
      const again = second.find((delivery) => delivery.event.position === first[1]!.event.position)!;
      assert.equal(again.attempt, 2);
      const parked = await call('POST', '/groups/work/nack', {
        ids: second.map((delivery) => delivery.id),
        action: 'park',
        reason: 'bad data',
      });
      assert.equal(parked.json().settled.length, 2);

      const page = await call('GET', '/groups/work/parked?limit=1');
      assert.equal(page.status, 200);
      assert.equal(page.json().parked.length, 1);
      assert.equal(page.json().parked[0].reason, 'bad data');
      assert.equal(typeof page.json().parked[0].parkedAt, 'string');
      assert.equal(page.json().next, page.json().parked[0].event.position);
      const rest = await call('GET', `/groups/work/parked?after=${page.json().next}`);
      assert.equal(rest.json().parked.length, 1);
      assert.equal(rest.json().next, undefined);

      const replayed = await call('POST', '/groups/work/parked/replay', { ids: [page.json().parked[0].event.position] });
      assert.deepEqual(replayed.json(), { replayed: 1 });
      const redelivered = await pull('work', { consumer: 'c1', waitMs: 1000 });
      assert.equal(redelivered.length, 1);
      assert.equal(redelivered[0]!.replay, true);
      assert.equal(redelivered[0]!.attempt, 1);
      await call('POST', '/groups/work/ack', { ids: [redelivered[0]!.id] });

      const deleted = await call('DELETE', `/groups/work/parked?ids=${rest.json().parked[0].event.position}`);
      assert.deepEqual(deleted.json(), { deleted: 1 });
      assert.equal((await call('GET', '/groups/work/parked')).json().parked.length, 0);

      const range = await call('POST', '/groups/work/replay', { from: first[0]!.event.position, to: first[0]!.event.position });
      assert.deepEqual(range.json(), { from: first[0]!.event.position, to: first[0]!.event.position });
      const replay = await pull('work', { consumer: 'c1', waitMs: 1000 });
      assert.equal(replay[0]!.replay, true);
      assert.equal(replay[0]!.event.position, first[0]!.event.position);
    });

    it('deletes parked events named in the body, and refuses a second replay under way (409)', async () => {
      await call('PUT', '/groups/cleanup', { source: { stream: 'cleanup-1' }, maxRetries: 0, retryDelayMs: 0 });
      await append('cleanup-1', 2);
      const got = await pull('cleanup', { consumer: 'c1', waitMs: 1000, max: 2 });
      await call('POST', '/groups/cleanup/nack', { ids: got.map((delivery) => delivery.id), action: 'retry' });
      const parked = (await call('GET', '/groups/cleanup/parked')).json().parked;
      assert.equal(parked.length, 2, 'maxRetries 0 parks at the first failure');
      const deleted = await httpCall(suite.url, 'DELETE', '/groups/cleanup/parked', {
        token: tokens.admin,
        body: { ids: [parked[0].event.position] },
      });
      assert.deepEqual(deleted.json(), { deleted: 1 });
      assert.deepEqual((await call('DELETE', '/groups/cleanup/parked')).json(), { deleted: 1 }, 'no selection: all of them');

      await call('PUT', '/groups/replaying', { source: { stream: 'cleanup-1' }, maxPending: 1 });
      await pull('replaying', { consumer: 'c1', waitMs: 1000 });
      assert.equal((await call('POST', '/groups/replaying/replay', { from: '1', to: '1000' })).status, 200);
      refusal(await call('POST', '/groups/replaying/replay', { from: '1', to: '1000' }), 409, 'conflict', /replay/);
    });

    it('a long poll answers as soon as an event comes', async () => {
      await call('PUT', '/groups/waiting', { source: { stream: 'waiting-1' } });
      const started = Date.now();
      const pending = pull('waiting', { consumer: 'c1', waitMs: 5_000 });
      await sleep(200);
      await append('waiting-1');
      const got = await pending;
      assert.equal(got.length, 1);
      assert.ok(Date.now() - started < 3_000, 'answered well before waitMs');
      const empty = Date.now();
      assert.deepEqual(await pull('waiting', { consumer: 'c1', waitMs: 300 }), []);
      assert.ok(Date.now() - empty >= 250, 'waited for waitMs');
    });

    it('a pull aborted by the client disconnecting ends its wait and leaks no lease beyond the ack timeout', async () => {
      await call('PUT', '/groups/abandoned', { source: { stream: 'abandoned-1' }, ackTimeoutMs: 500, retryDelayMs: 0 });
      const controller = new AbortController();
      const gone = request(`${suite.url}/groups/abandoned/pull`, {
        method: 'POST',
        headers: { authorization: `Bearer ${tokens.admin}`, 'content-type': 'application/json' },
        body: JSON.stringify({ consumer: 'gone', waitMs: 10_000 }),
        signal: controller.signal,
      }).catch(() => undefined);
      await sleep(200);
      controller.abort();
      await gone;
      await sleep(100);
      await append('abandoned-1');
      const started = Date.now();
      const got = await pull('abandoned', { consumer: 'c2', waitMs: 2_000 });
      assert.equal(got.length, 1, 'the event went to the consumer that is there');
      assert.equal(got[0]!.attempt, 1, 'the abandoned pull stopped waiting: it never leased the event');
      assert.ok(Date.now() - started < 1_500, 'within the ack timeout (and its wait)');
      const info = (await call('GET', '/groups/abandoned')).json();
      assert.deepEqual(
        info.consumers
          .map((consumer: { name: string; inFlight: number }) => [consumer.name, consumer.inFlight])
          .filter(([name]: [string]) => name === 'gone'),
        info.consumers.some((consumer: { name: string }) => consumer.name === 'gone') ? [['gone', 0]] : [],
        'the consumer that left holds no lease',
      );
    });
  });

  describe('the client', () => {
    it('a pull whose signal aborts cancels its request, resolves [] at once, and leases nothing', async () => {
      const client = connect(suite.url, { token: tokens.reader });
      try {
        await suite.store.groups.create('client-abort', { source: { stream: 'client-abort-1' }, ackTimeoutMs: 60_000 });
        const controller = new AbortController();
        const started = Date.now();
        const pending = client.groups.pull('client-abort', { consumer: 'gone', waitMs: 20_000, signal: controller.signal });
        await sleep(100);
        controller.abort();
        assert.deepEqual(await pending, []);
        assert.ok(Date.now() - started < 2_000, 'resolved at the abort, not at waitMs');
        await sleep(100);
        await append('client-abort-1');
        const [delivery] = await client.groups.pull('client-abort', { consumer: 'here', waitMs: 2_000 });
        assert.equal(delivery?.attempt, 1, 'the aborted pull leased nothing: the event went straight to the next consumer');
        assert.equal((await client.groups.info('client-abort')).inFlight, 1);
      } finally {
        await client.close();
      }
    });
  });

  describe('push over SSE', () => {
    it('sends at most max unsettled deliveries, refilled as they are acked; heartbeats; a disconnect keeps the leases', async () => {
      await call('PUT', '/groups/pushed', { source: { stream: 'pushed-1' }, ackTimeoutMs: 60_000 });
      await append('pushed-1', 5);
      const push = await openPush(suite.url, '/subscribe/groups/pushed?consumer=p1&max=2', tokens.reader);
      assert.equal(push.status, 200);
      assert.match(String(push.headers['content-type']), /^text\/event-stream/);
      await push.waitFor(() => push.deliveries().length === 2, 'two deliveries');
      await push.waitFor(() => push.state.text.includes(': heartbeat'), 'a heartbeat');
      await sleep(300);
      assert.equal(push.deliveries().length, 2, 'no third before a credit comes back');

      const [first, second] = push.deliveries();
      await call('POST', '/groups/pushed/ack', { ids: [first!.id] }, tokens.reader);
      await push.waitFor(() => push.deliveries().length === 3, 'a third after an ack');
      await call('POST', '/groups/pushed/nack', { ids: [second!.id], action: 'skip' }, tokens.reader);
      await push.waitFor(() => push.deliveries().length === 4, 'a fourth after a nack');
      assert.deepEqual(
        push.deliveries().map((delivery) => delivery.attempt),
        [1, 1, 1, 1],
      );

      await push.close();
      await sleep(100);
      const info = (await call('GET', '/groups/pushed')).json();
      assert.equal(info.inFlight, 2, 'the two unsettled deliveries keep their leases after the disconnect');
    });

    it('gives a credit back when a lease times out', async () => {
      await call('PUT', '/groups/expiring', { source: { stream: 'expiring-1' }, ackTimeoutMs: 300, retryDelayMs: 0 });
      await append('expiring-1', 1);
      const push = await openPush(suite.url, '/subscribe/groups/expiring?consumer=p1&max=1', tokens.admin);
      await push.waitFor(() => push.deliveries().length === 1, 'the first delivery');
      await push.waitFor(() => push.deliveries().length === 2, 'the same event again after its lease timed out', 3_000);
      assert.equal(push.deliveries()[1]!.attempt, 2);
      await push.close();
    });

    it('ends with event: problem when the group is deleted', async () => {
      await call('PUT', '/groups/doomed', { source: { stream: 'doomed-1' } });
      const push = await openPush(suite.url, '/subscribe/groups/doomed?consumer=p1', tokens.admin);
      await sleep(100);
      await call('DELETE', '/groups/doomed');
      await push.waitFor(() => push.state.ended || push.state.text.includes('event: problem'), 'the end of the push', 3_000);
      await push.close();
    });
  });

  describe('access', () => {
    it('takes an admin to manage groups, and a reader to look at and consume them', async () => {
      await call('PUT', '/groups/shared', { source: { stream: 'shared-1' } });
      await append('shared-1');
      for (const token of [tokens.reader, tokens.writer]) {
        refusal(await call('PUT', '/groups/shared2', {}, token), 403, 'access_denied', /this needs admin/);
        refusal(await call('PATCH', '/groups/shared', { paused: true }, token), 403, 'access_denied');
        refusal(await call('DELETE', '/groups/shared', undefined, token), 403, 'access_denied');
        refusal(await call('POST', '/groups/shared/replay', { from: '1' }, token), 403, 'access_denied');
        refusal(await call('POST', '/groups/shared/parked/replay', {}, token), 403, 'access_denied');
        refusal(await call('DELETE', '/groups/shared/parked', undefined, token), 403, 'access_denied');
        assert.equal((await call('GET', '/groups/shared', undefined, token)).status, 200);
        assert.equal((await call('GET', '/groups', undefined, token)).status, 200);
        assert.equal((await call('GET', '/groups/shared/parked', undefined, token)).status, 200);
      }
      const [delivery] = await pull('shared', { consumer: 'r1', waitMs: 1000 }, tokens.reader);
      assert.equal((await call('POST', '/groups/shared/extend', { ids: [delivery!.id], ms: 1000 }, tokens.reader)).status, 200);
      assert.equal((await call('POST', '/groups/shared/ack', { ids: [delivery!.id] }, tokens.reader)).status, 200);
      refusal(await httpCall(suite.url, 'GET', '/groups'), 401, 'unauthenticated');
    });

    it('lets a token limited to prefixes use only groups within them, and confines the groups it creates', async () => {
      await call('PUT', '/groups/everything', {});
      await call('PUT', '/groups/orders-stream', { source: { stream: 'order-7' } });
      await call('PUT', '/groups/orders-filter', { source: { filter: { streams: ['order-'] } } });
      await call('PUT', '/groups/order-category', { source: { category: 'order' } });
      refusal(await call('POST', '/groups/everything/pull', { consumer: 'o1' }, tokens.orders), 403, 'access_denied', /group 'everything'/);
      refusal(await call('GET', '/groups/everything', undefined, tokens.orders), 403, 'access_denied');
      refusal(await call('GET', '/subscribe/groups/everything?consumer=o1', undefined, tokens.orders), 403, 'access_denied');
      refusal(await call('POST', '/groups/order-category/pull', { consumer: 'o1' }, tokens.orders), 403, 'access_denied', /order-category/);
      assert.equal((await call('POST', '/groups/orders-stream/pull', { consumer: 'o1' }, tokens.orders)).status, 200);
      assert.equal((await call('POST', '/groups/orders-filter/pull', { consumer: 'o1' }, tokens.orders)).status, 200);
      const listed = (await call('GET', '/groups', undefined, tokens.orders)).json().groups.map((group: { name: string }) => group.name);
      assert.ok(listed.includes('orders-stream') && listed.includes('orders-filter'));
      assert.ok(!listed.includes('everything') && !listed.includes('order-category'), 'groups beyond the token are not listed');

      const confined = await call('PUT', '/groups/confined', {}, tokens.ordersAdmin);
      assert.equal(confined.status, 201, confined.text);
      assert.deepEqual(confined.json().settings.scope, ['order-']);
      refusal(await call('PUT', '/groups/wider', { scope: ['user-'] }, tokens.ordersAdmin), 403, 'access_denied', /scope/);
      assert.deepEqual((await call('PUT', '/groups/narrower', { scope: ['order-9'] }, tokens.ordersAdmin)).json().settings.scope, [
        'order-9',
      ]);
      refusal(await call('DELETE', '/groups/everything', undefined, tokens.ordersAdmin), 403, 'access_denied');

      await append('user-1');
      await append('order-1');
      const got = await pull('confined', { consumer: 'o1', max: 100, waitMs: 500 }, tokens.orders);
      assert.ok(got.length > 0);
      assert.ok(
        got.every((delivery) => delivery.event.stream.startsWith('order-')),
        'a confined group delivers only streams within its scope',
      );
    });

    it("parks a delivery whose stream's ACL denies the consumer's token instead of sending it", async () => {
      const acl = { acl: { read: { tokens: ['billing'] } } };
      assert.equal((await call('PUT', '/streams/secret-1/metadata', acl)).status, 204);
      await call('PUT', '/groups/acl', { source: { filter: { streams: ['secret-', 'open-'] } } });
      await append('secret-1');
      await append('open-1');
      const got = await pull('acl', { consumer: 'r1', max: 10, waitMs: 1000 }, tokens.reader);
      assert.deepEqual(
        got.map((delivery) => delivery.event.stream),
        ['open-1'],
      );
      const asAdmin = (await call('GET', '/groups/acl/parked')).json().parked;
      assert.equal(asAdmin.length, 1);
      assert.equal(asAdmin[0].event.stream, 'secret-1');
      assert.equal(asAdmin[0].reason, unreadableReason);
      assert.equal((await call('GET', '/groups/acl/parked', undefined, tokens.reader)).json().parked.length, 0, 'hidden from the reader');

      await call('POST', '/groups/acl/parked/replay', {});
      const billing = await pull('acl', { consumer: 'b1', max: 10, waitMs: 1000 }, tokens.billing);
      assert.deepEqual(
        billing.map((delivery) => delivery.event.stream),
        ['secret-1'],
        'a token the ACL names gets it',
      );

      await call('PUT', '/groups/acl-push', { source: { filter: { streams: ['secret-', 'open-'] } } });
      const push = await openPush(suite.url, '/subscribe/groups/acl-push?consumer=r1', tokens.reader);
      await push.waitFor(() => push.deliveries().length === 1, 'the readable delivery');
      await sleep(200);
      assert.deepEqual(
        push.deliveries().map((delivery) => delivery.event.stream),
        ['open-1'],
      );
      await push.close();
    });
  });

  describe('operations', () => {
    it('counts deliveries and settles in /metrics, and documents the routes in /openapi.json', async () => {
      const metrics = (await call('GET', '/metrics')).text;
      assert.match(metrics, /annals_group_deliveries_total\{group="work"\} \d+/);
      assert.match(metrics, /annals_group_settles_total\{group="work",action="ack"\} \d+/);
      const paths = Object.keys((await httpCall(suite.url, 'GET', '/openapi.json')).json().paths);
      for (const path of [
        '/groups',
        '/groups/{group}',
        '/groups/{group}/pull',
        '/groups/{group}/ack',
        '/groups/{group}/nack',
        '/groups/{group}/extend',
        '/groups/{group}/parked',
        '/groups/{group}/parked/replay',
        '/groups/{group}/replay',
        '/subscribe/groups/{group}',
      ])
        assert.ok(paths.includes(path), path);
    });
  });
});
