/** Positions at the edge of their range: every one is a 400, or a subscription that is caught up and empty. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openEventStore } from '../engines/open.js';
import { httpCall, sseUntil } from './testing/http.js';
import { serveForSuite } from './testing/serve.js';

const maxPosition = '9223372036854775807';
const dir = mkdtempSync(join(tmpdir(), 'annals-positions-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('positions at the edge', () => {
  // SQLite, whose integers end at the largest position: one past it must never reach a query.
  const suite = serveForSuite({}, () => openEventStore({ engine: 'sqlite', path: join(dir, 'edge.db') }));
  before(async () => {
    await suite.store.append('a-1', [{ type: 'E', data: {} }]);
  });

  it('a subscription to $all from past the head is a conflict; one to a stream is caught up and empty', async () => {
    for (const [path, headers] of [
      [`/subscribe/all?from=${maxPosition}`, {}],
      ['/subscribe/all', { 'last-event-id': maxPosition }],
      ['/subscribe/all?types=E', { 'last-event-id': maxPosition }],
      ['/subscribe/all?from=1000', {}],
    ] as const) {
      const answer = await httpCall(suite.url, 'GET', path, { headers });
      assert.equal(answer.status, 409, `${path}: ${answer.text}`);
      assert.match(answer.json().detail, /beyond this store's head/);
    }
    const { status, text } = await sseUntil(
      suite.url,
      '/subscribe/streams/a-1',
      (received) => /event: (caught-up|problem)/.test(received),
      {
        headers: { 'last-event-id': maxPosition },
      },
    );
    assert.equal(status, 200);
    assert.ok(text.includes('event: caught-up') && !text.includes('event: problem'), text);
  });

  it('reads from the largest position answer with an empty page', async () => {
    for (const path of [`/all?from=${maxPosition}`, `/all?from=${maxPosition}&direction=backwards&limit=1`]) {
      const answer = await httpCall(suite.url, 'GET', path);
      assert.equal(answer.status, 200, `${path}: ${answer.text}`);
    }
    assert.deepEqual((await httpCall(suite.url, 'GET', `/all?from=${maxPosition}`)).json().events, []);
  });

  it('positions beyond the largest are a 400 naming the field', async () => {
    for (const path of ['/all?from=9223372036854775808', '/subscribe/all?from=99999999999999999999']) {
      const answer = await httpCall(suite.url, 'GET', path);
      assert.equal(answer.status, 400, `${path}: ${answer.text}`);
      assert.match(answer.json().detail, /from/);
    }
    const resumed = await httpCall(suite.url, 'GET', '/subscribe/all', { headers: { 'last-event-id': '9223372036854775808' } });
    assert.equal(resumed.status, 400, resumed.text);
    assert.match(resumed.json().detail, /Last-Event-ID/);
  });
});
