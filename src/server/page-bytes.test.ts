/** A JSON page ends at its byte budget, however few events that is, and links to the rest. */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { httpCall } from './testing/http.js';
import { serveForSuite } from './testing/serve.js';

describe('JSON pages under a byte budget', () => {
  const suite = serveForSuite({ maxPageBytes: 10_000 });

  before(async () => {
    await suite.store.append(
      'big-1',
      Array.from({ length: 10 }, (_, index) => ({ type: 'Big', data: { index, text: 'x'.repeat(3000) } })),
    );
    await suite.store.append('huge-1', [
      { type: 'Huge', data: 'y'.repeat(50_000) },
      { type: 'Small', data: 1 },
    ]);
  });

  const readPages = async (path: string) => {
    const pages: { events: { revision: number }[]; next?: string }[] = [];
    for (let from: string | undefined = '0'; from !== undefined; from = pages.at(-1)!.next) {
      const answer = await httpCall(suite.url, 'GET', `${path}${path.includes('?') ? '&' : '?'}from=${from}`);
      assert.equal(answer.status, 200, answer.text);
      assert.ok(answer.text.length <= 10_000 || answer.json().events.length === 1, `a page of ${answer.text.length} characters`);
      pages.push(answer.json());
    }
    return pages;
  };

  it('ends a page of a stream at the budget and continues with next until every event is read', async () => {
    const pages = await readPages('/streams/big-1?limit=100');
    assert.ok(pages.length >= 4, `${pages.length} pages`);
    assert.deepEqual(
      pages.flatMap((page) => page.events.map((event) => event.revision)),
      [...Array(10).keys()],
    );
  });

  it('sends an event larger than the budget alone on its page', async () => {
    const pages = await readPages('/streams/huge-1');
    assert.deepEqual(
      pages.map((page) => page.events.length),
      [1, 1],
    );
  });

  it('does the same for $all', async () => {
    const pages = await readPages('/all?limit=1000');
    assert.equal(pages.flatMap((page) => page.events).length, 12);
    assert.ok(pages.length >= 5);
  });
});
