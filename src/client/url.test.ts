/**
 * The server's url: anything but http(s)://host[:port][/prefix] is refused with a clear error, and a path
 * prefix is kept for every call (reads, appends, NDJSON, SSE), as behind a proxy that serves Annals under it.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, request as forward } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { openEventStore } from '../engines/open.js';
import { serveForTest } from '../server/testing/serve.js';
import { isCaughtUp, isEvent, type SubscriptionMessage } from '../store/model.js';
import { connect } from './connect.js';

describe('the server url', () => {
  it('is refused, saying what is allowed, unless it is http(s)://host[:port][/prefix]', () => {
    const cases: [string, string][] = [
      ['127.0.0.1:2113', 'no http or https url'],
      ['localhost', 'no http or https url'],
      ['ftp://127.0.0.1', 'no http or https url'],
      ['http://user:secret@127.0.0.1:2113', 'credentials go in the token option'],
      ['http://127.0.0.1:2113/?token=x', 'query or a fragment'],
      ['http://127.0.0.1:2113/#x', 'query or a fragment'],
    ];
    for (const [url, why] of cases) {
      assert.throws(
        () => connect(url),
        (error: Error & { code?: string }) => {
          assert.equal(error.code, 'invalid_argument', url);
          assert.match(error.message, new RegExp(`${why}.*allowed: http\\(s\\)://host\\[:port\\]\\[/prefix\\]`), url);
          assert.doesNotMatch(error.message, /secret/);
          return true;
        },
      );
    }
  });

  describe('with a path prefix, behind a proxy', () => {
    let proxyUrl: string;
    let close: () => Promise<void>;
    before(async () => {
      const served = await serveForTest(await openEventStore({ engine: 'memory' }));
      const target = new URL(served.url);
      // Serves the Annals server under /annals only, as a reverse proxy would.
      const proxy = createServer((incoming, outgoing) => {
        if (!incoming.url!.startsWith('/annals/')) return void outgoing.writeHead(404).end('not under /annals');
        const upstream = forward(
          {
            host: target.hostname,
            port: target.port,
            method: incoming.method,
            path: incoming.url!.slice('/annals'.length),
            headers: incoming.headers,
          },
          (answer) => {
            outgoing.writeHead(answer.statusCode!, answer.headers);
            answer.pipe(outgoing);
          },
        );
        incoming.pipe(upstream);
      }).listen(0, '127.0.0.1');
      await once(proxy, 'listening');
      proxyUrl = `http://127.0.0.1:${(proxy.address() as { port: number }).port}/annals/`;
      close = async () => {
        proxy.closeAllConnections();
        proxy.close();
        await served.client.close();
      };
    });
    after(() => close());

    it('keeps the prefix for appends, reads, NDJSON and subscriptions', async () => {
      const client = connect(proxyUrl);
      try {
        const messages = client.subscribe({ stream: 'order-1' })[Symbol.asyncIterator]();
        assert.ok(isCaughtUp((await messages.next()).value as SubscriptionMessage));
        await client.append('order-1', [{ type: 'Placed', data: {} }]);
        const live = (await messages.next()).value as SubscriptionMessage;
        assert.ok(isEvent(live) && live.type === 'Placed');
        assert.deepEqual(
          (await client.readStream('order-1')).map((event) => event.type),
          ['Placed'],
        );
        assert.equal((await client.stats()).events, 1);
        await messages.return?.(undefined);
      } finally {
        await client.close();
      }
    });
  });
});
