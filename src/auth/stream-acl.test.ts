/**
 * A stream's ACL hides it on every path: its own reads and subscriptions, and `$all` read as JSON pages,
 * as NDJSON and as Server-Sent Events. A caller the ACL refuses learns nothing of the stream's state (403
 * whether it exists or was tombstoned); every caller who may read it gets the same answer (410 for a
 * tombstoned stream, before a subscription starts).
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { httpCall, sseUntil } from '../server/testing/http.js';
import { serveForSuite } from '../server/testing/serve.js';
import { createAuthenticator } from './tokens.js';

const tokens = {
  admin: 'admin-token-0123456789',
  alice: 'alice-reader-0123456789',
  bob: 'bob-reader-0123456789',
  writer: 'some-writer-0123456789',
  publicOnly: 'public-reader-0123456789',
};
const authenticator = createAuthenticator([
  { name: 'admin', role: 'admin', token: tokens.admin },
  { name: 'alice', role: 'reader', token: tokens.alice },
  // A token named after a role does not pass an ACL that lists the role.
  { name: 'writer', role: 'reader', token: tokens.bob },
  { name: 'carol', role: 'writer', token: tokens.writer },
  { name: 'dave', role: 'reader', token: tokens.publicOnly, streams: ['public-'] },
]);

/** The events a subscription delivers until it is caught up. */
const subscribeUntilCaughtUp = async (url: string, path: string, token: string) => {
  const { text } = await sseUntil(url, path, (received) => received.includes('event: caught-up'), { token });
  return text
    .split('\n\n')
    .filter((message) => message.includes('data: {"id"'))
    .map((message) => JSON.parse(message.slice(message.indexOf('data: ') + 6)) as { stream: string });
};

describe('stream acls', () => {
  const suite = serveForSuite({ authenticator, token: tokens.admin });

  before(async () => {
    await suite.store.append('public-1', [{ type: 'Open', data: {} }]);
    await suite.store.append('secret-1', [{ type: 'Hidden', data: { pin: 1234 } }]);
    await suite.store.append('secret-1', [{ type: 'Hidden', data: { pin: 5678 } }]);
    await suite.store.append('public-2', [{ type: 'Open', data: {} }]);
    await suite.store.append('public-3', [{ type: 'Open', data: {} }]);
    const set = await httpCall(suite.url, 'PUT', '/streams/secret-1/metadata', {
      token: tokens.admin,
      body: { acl: { read: { tokens: ['alice'] } } },
    });
    assert.equal(set.status, 204, set.text);
  });

  const streamsOf = (events: { stream: string }[]) => [...new Set(events.map((event) => event.stream))].sort();

  it('hide an event read by id: as absent (404) for a token the ACL or its prefixes refuse', async () => {
    const [secret] = await suite.store.readStream('secret-1');
    const byId = (token: string) => httpCall(suite.url, 'GET', `/events/${secret!.id}`, { token });
    assert.equal((await byId(tokens.alice)).json().stream, 'secret-1');
    assert.equal((await byId(tokens.admin)).status, 200);
    for (const token of [tokens.bob, tokens.publicOnly]) {
      const refused = await byId(token);
      assert.equal(refused.status, 404, refused.text);
      assert.doesNotMatch(refused.text, /secret|pin/);
    }
    const bad = await httpCall(suite.url, 'GET', '/events/not-a-uuid', { token: tokens.admin });
    assert.equal(bad.status, 400, bad.text);
    assert.match(bad.json().detail, /event id/);
  });

  it("guard a stream's snapshots as its events: read with read permission, written and deleted with write permission", async () => {
    await suite.store.snapshots.write('secret-1', { revision: 1, schemaVersion: 1, state: { pin: 5678 } });
    const read = (token: string) => httpCall(suite.url, 'GET', '/snapshots/secret-1', { token });
    assert.deepEqual((await read(tokens.alice)).json().state, { pin: 5678 });
    for (const token of [tokens.bob, tokens.publicOnly]) {
      const refused = await read(token);
      assert.equal(refused.status, 403, refused.text);
      assert.doesNotMatch(refused.text, /pin|5678/);
    }
    const write = (token: string) =>
      httpCall(suite.url, 'PUT', '/snapshots/secret-1', { token, body: { revision: 1, schemaVersion: 2, state: {} } });
    assert.equal((await write(tokens.alice)).status, 403, 'a reader may not write');
    assert.equal((await httpCall(suite.url, 'DELETE', '/snapshots/secret-1', { token: tokens.alice })).status, 403);
    assert.equal((await write(tokens.admin)).status, 200);
    const bad = await httpCall(suite.url, 'PUT', '/snapshots/secret-1', {
      token: tokens.admin,
      body: { revision: 9, schemaVersion: 1, state: {} },
    });
    assert.equal(bad.status, 400, bad.text);
    assert.match(bad.json().detail, /revision is 9; allowed/);
    assert.equal((await httpCall(suite.url, 'GET', '/snapshots/secret-1?schemaVersion=7', { token: tokens.admin })).status, 404);
  });

  it('hide a stream from $all pages, and paging goes on past its events', async () => {
    const all = (token: string, query = '') => httpCall(suite.url, 'GET', `/all${query}`, { token });
    assert.deepEqual(streamsOf((await all(tokens.bob)).json().events), ['public-1', 'public-2', 'public-3']);
    assert.deepEqual(streamsOf((await all(tokens.alice)).json().events), ['public-1', 'public-2', 'public-3', 'secret-1']);
    assert.deepEqual(streamsOf((await all(tokens.admin)).json().events), ['public-1', 'public-2', 'public-3', 'secret-1']);
    for (const query of ['?types=Hidden', '?category=secret', '?streams=secret-', '?direction=backwards']) {
      assert.ok(!streamsOf((await all(tokens.bob, query)).json().events).includes('secret-1'), query);
    }
    // Pages of one: the second holds only a hidden event, so it is empty, yet links on to the third.
    const seen: string[] = [];
    let next: string | undefined = '0';
    for (let pages = 0; next !== undefined; pages++) {
      const page = (await all(tokens.bob, `?limit=1&from=${next}`)).json();
      seen.push(...page.events.map((event: { stream: string }) => event.stream));
      next = page.next;
      assert.ok(pages < 8);
    }
    assert.deepEqual(seen, ['public-1', 'public-2', 'public-3']);
  });

  it('hide a stream from stream listings, whose pages link on past it', async () => {
    const list = async (token: string, query = '') => {
      const answer = await httpCall(suite.url, 'GET', `/streams${query}`, { token });
      assert.equal(answer.status, 200, answer.text);
      return answer.json() as { streams: { stream: string }[]; next?: string };
    };
    assert.deepEqual(streamsOf((await list(tokens.bob)).streams), ['public-1', 'public-2', 'public-3']);
    assert.ok(streamsOf((await list(tokens.alice)).streams).includes('secret-1'));
    assert.deepEqual(streamsOf((await list(tokens.publicOnly)).streams), ['public-1', 'public-2', 'public-3'], 'prefixes narrow listings');
    assert.deepEqual((await list(tokens.publicOnly, '?prefix=secret')).streams, []);
    const page = await list(tokens.bob, '?prefix=s&limit=1');
    assert.deepEqual(page, { streams: [], next: 'secret-1' }, 'a page of hidden streams is empty but links on');
  });

  it('hide a stream from $all read as NDJSON', async () => {
    const answer = await httpCall(suite.url, 'GET', '/all', { token: tokens.bob, headers: { accept: 'application/x-ndjson' } });
    const events = answer.text
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { stream: string });
    assert.deepEqual(streamsOf(events), ['public-1', 'public-2', 'public-3']);
    assert.ok(!answer.text.includes('pin'));
  });

  it('hide a stream from $all subscriptions, history and live', async () => {
    const history = await subscribeUntilCaughtUp(suite.url, '/subscribe/all', tokens.bob);
    assert.deepEqual(streamsOf(history), ['public-1', 'public-2', 'public-3']);
    const allowed = await subscribeUntilCaughtUp(suite.url, '/subscribe/all?category=secret', tokens.alice);
    assert.deepEqual(streamsOf(allowed), ['secret-1']);

    const { headPosition } = await suite.store.stats();
    const live = sseUntil(suite.url, `/subscribe/all?from=${headPosition}`, (received) => received.includes('"public-4"'), {
      token: tokens.bob,
    });
    await suite.store.append('secret-1', [{ type: 'Hidden', data: { pin: 9999 } }]);
    await suite.store.append('public-4', [{ type: 'Open', data: {} }]);
    const { text } = await live;
    assert.ok(text.includes('"public-4"') && !text.includes('secret-1'), text);
  });

  it('name tokens and roles apart: a token named like a role is not that role', async () => {
    await httpCall(suite.url, 'PUT', '/streams/roles-1/metadata', { token: tokens.admin, body: { acl: { read: { roles: ['writer'] } } } });
    await suite.store.append('roles-1', [{ type: 'E', data: {} }]);
    assert.equal((await httpCall(suite.url, 'GET', '/streams/roles-1', { token: tokens.bob })).status, 403, "a reader named 'writer'");
    assert.equal((await httpCall(suite.url, 'GET', '/streams/roles-1', { token: tokens.writer })).status, 200, 'a writer');
    const old = await httpCall(suite.url, 'PUT', '/streams/roles-1/metadata', { token: tokens.admin, body: { acl: { read: ['alice'] } } });
    assert.equal(old.status, 400, old.text);
    const adminOnly = await httpCall(suite.url, 'PUT', '/streams/roles-1/metadata', {
      token: tokens.admin,
      body: { acl: { delete: { roles: ['writer'] } } },
    });
    assert.equal(adminOnly.status, 400, adminOnly.text);
  });

  it('tell a refused caller nothing of a tombstoned stream, and every permitted caller the same', async () => {
    await suite.store.append('secret-2', [{ type: 'Hidden', data: {} }]);
    await httpCall(suite.url, 'PUT', '/streams/secret-2/metadata', {
      token: tokens.admin,
      body: { acl: { read: { tokens: ['alice'] }, metaRead: { tokens: ['alice'] } } },
    });
    const paths = ['/streams/secret-2', '/streams/secret-2/metadata', '/subscribe/streams/secret-2', '/streams/never-written-secret'];
    await httpCall(suite.url, 'PUT', '/streams/never-written-secret/metadata', {
      token: tokens.admin,
      body: { acl: { read: { tokens: ['alice'] }, metaRead: { tokens: ['alice'] } } },
    });
    const before = await Promise.all(paths.map(async (path) => (await httpCall(suite.url, 'GET', path, { token: tokens.bob })).status));
    assert.deepEqual(before, [403, 403, 403, 403]);
    assert.equal((await httpCall(suite.url, 'DELETE', '/streams/secret-2?hard=true', { token: tokens.admin })).status, 204);
    for (const path of paths.slice(0, 3)) {
      assert.equal((await httpCall(suite.url, 'GET', path, { token: tokens.bob })).status, 403, `refused: ${path}`);
      for (const token of [tokens.alice, tokens.admin]) {
        const answer = await httpCall(suite.url, 'GET', path, { token });
        assert.equal(answer.status, 410, `${path}: ${answer.text}`);
        assert.equal(answer.json().code, 'stream_deleted');
      }
    }
  });
});
