/**
 * System streams follow the ACL of the stream they record: a token sees `$$S` only if it may read S, and
 * the `$metadata` events of `$$S` (which hold S's whole metadata, its ACL included) only with `metaRead` on
 * S as well; without it they are left out entirely. Checked on every path: reads of `$$S`, `$all` with
 * `includeSystem` (JSON and SSE), events by id, and group pulls.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { httpCall, sseUntil } from '../server/testing/http.js';
import { serveForSuite } from '../server/testing/serve.js';
import { createAuthenticator } from './tokens.js';

const tokens = {
  admin: 'admin-token-0123456789',
  alice: 'alice-reader-0123456789',
  erin: 'erin-reader-0123456789',
  bob: 'bob-reader-0123456789',
  dave: 'dave-reader-0123456789',
};
const authenticator = createAuthenticator([
  { name: 'admin', role: 'admin', token: tokens.admin },
  { name: 'alice', role: 'reader', token: tokens.alice },
  { name: 'erin', role: 'reader', token: tokens.erin },
  { name: 'bob', role: 'reader', token: tokens.bob },
  { name: 'dave', role: 'reader', token: tokens.dave, streams: ['public-'] },
]);

type Seen = { stream: string; type: string; id: string };
const seen = (events: Seen[]) => events.map((event) => `${event.stream}:${event.type}`);

describe('stream acls over system streams', () => {
  const suite = serveForSuite({ authenticator, token: tokens.admin });

  before(async () => {
    await suite.store.append('public-1', [{ type: 'Open', data: {} }]);
    await suite.store.append('secret-1', [{ type: 'Hidden', data: { pin: 1234 } }]);
    const acl = { read: { tokens: ['alice', 'erin'] }, metaRead: { tokens: ['alice'] } };
    const set = await httpCall(suite.url, 'PUT', '/streams/secret-1/metadata', { token: tokens.admin, body: { acl } });
    assert.equal(set.status, 204, set.text);
    await suite.store.setMetadata('public-1', { custom: { note: 'open' } });
    await suite.store.deleteStream('secret-1');
  });

  const all = async (token: string) => {
    const answer = await httpCall(suite.url, 'GET', '/all?includeSystem=true', { token });
    assert.equal(answer.status, 200, answer.text);
    return seen(answer.json().events as Seen[]);
  };

  it('$all with includeSystem: $$S only with read on S, its $metadata only with metaRead too', async () => {
    const publicOnes = ['public-1:Open', '$$public-1:$metadata'];
    assert.deepEqual(await all(tokens.alice), ['public-1:Open', '$$secret-1:$metadata', '$$public-1:$metadata', '$$secret-1:$deleted']);
    assert.deepEqual(await all(tokens.erin), [...publicOnes, '$$secret-1:$deleted']);
    assert.deepEqual(await all(tokens.bob), publicOnes);
    assert.deepEqual(await all(tokens.dave), publicOnes, 'a token limited to prefixes sees the $$ streams of its streams');
    const plain = await httpCall(suite.url, 'GET', '/all', { token: tokens.alice });
    assert.deepEqual(seen(plain.json().events as Seen[]), ['public-1:Open'], 'hidden without includeSystem');
  });

  it('reads of $$S: refused without read on S, without $metadata events without metaRead', async () => {
    const read = (token: string) => httpCall(suite.url, 'GET', `/streams/${encodeURIComponent('$$secret-1')}`, { token });
    assert.deepEqual(seen((await read(tokens.alice)).json().events as Seen[]), ['$$secret-1:$metadata', '$$secret-1:$deleted']);
    const erin = await read(tokens.erin);
    assert.deepEqual(seen(erin.json().events as Seen[]), ['$$secret-1:$deleted']);
    assert.doesNotMatch(erin.text, /alice|metaRead/);
    for (const token of [tokens.bob, tokens.dave]) {
      const refused = await read(token);
      assert.equal(refused.status, 403, refused.text);
      assert.doesNotMatch(refused.text, /\$metadata|\$deleted|alice/);
    }
  });

  it('events by id: a $metadata event is absent to a token without metaRead', async () => {
    const [metadata, deleted] = await suite.store.readStream('$$secret-1');
    const byId = (id: string, token: string) => httpCall(suite.url, 'GET', `/events/${id}`, { token });
    assert.equal((await byId(metadata!.id, tokens.alice)).status, 200);
    assert.equal((await byId(metadata!.id, tokens.erin)).status, 404);
    assert.equal((await byId(deleted!.id, tokens.erin)).status, 200);
    for (const token of [tokens.bob, tokens.dave]) {
      assert.equal((await byId(metadata!.id, token)).status, 404);
      assert.equal((await byId(deleted!.id, token)).status, 404);
    }
  });

  it('subscriptions over SSE leave out what the token may not see', async () => {
    const subscribed = async (token: string) => {
      const { text } = await sseUntil(suite.url, '/subscribe/all?includeSystem=true', (received) => received.includes('event: caught-up'), {
        token,
      });
      return seen(
        text
          .split('\n\n')
          .filter((message) => message.includes('data: {"id"'))
          .map((message) => JSON.parse(message.slice(message.indexOf('data: ') + 6)) as Seen),
      );
    };
    assert.deepEqual(await subscribed(tokens.erin), ['public-1:Open', '$$public-1:$metadata', '$$secret-1:$deleted']);
    assert.deepEqual(await subscribed(tokens.bob), ['public-1:Open', '$$public-1:$metadata']);
  });

  it('group pulls leave out what the token may not see', async () => {
    const created = await httpCall(suite.url, 'PUT', '/groups/everything', {
      token: tokens.admin,
      body: { source: { filter: { includeSystem: true } }, from: 'start' },
    });
    assert.ok(created.status === 201 || created.status === 200, created.text);
    const pulled = await httpCall(suite.url, 'POST', '/groups/everything/pull', {
      token: tokens.erin,
      body: { consumer: 'e', max: 10, waitMs: 200 },
    });
    assert.equal(pulled.status, 200, pulled.text);
    assert.deepEqual(seen((pulled.json().deliveries as { event: Seen }[]).map((delivery) => delivery.event)), [
      'public-1:Open',
      '$$public-1:$metadata',
      '$$secret-1:$deleted',
    ]);
  });
});
