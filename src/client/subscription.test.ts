/** A client subscription outlives its connection: it resumes where it was, and gives up when the server stays away. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isCaughtUp, isEvent, type SubscriptionMessage } from '../store/model.js';
import { openEventStore } from '../engines/open.js';
import { createServer } from '../server/server.js';
import { listenForTest } from '../server/testing/serve.js';
import { connect } from './connect.js';

const describeMessage = (message: SubscriptionMessage) => (isEvent(message) ? `${message.stream}@${message.revision}` : isCaughtUp(message) ? 'caught-up' : 'checkpoint');

describe('client subscriptions', () => {
  it('resume after a server restart with no gap, no repeat and one caught-up', async () => {
    const store = await openEventStore({ engine: 'memory' });
    const serve = async (port = 0) => {
      const server = await createServer({ store, authenticator: undefined, closeStore: false });
      return { server, url: await listenForTest(server, port) };
    };
    const first = await serve();
    const { url } = first;
    let { server } = first;
    const client = connect(url);
    await store.append('a-1', [{ type: 'E', data: 0 }, { type: 'E', data: 1 }]);

    const subscription = client.subscribe({ stream: 'a-1' });
    const messages = subscription[Symbol.asyncIterator]();
    const received: string[] = [];
    const next = async () => received.push(describeMessage((await messages.next()).value as SubscriptionMessage));
    for (let i = 0; i < 3; i++) await next();

    await server.close();
    await store.append('a-1', [{ type: 'E', data: 2 }]);
    ({ server } = await serve(Number(new URL(url).port)));
    await store.append('a-1', [{ type: 'E', data: 3 }]);
    await next();
    await next();
    assert.deepEqual(received, ['a-1@0', 'a-1@1', 'caught-up', 'a-1@2', 'a-1@3']);

    await subscription.close();
    await client.close();
    await server.close();
    await store.close();
  });

  it('fail with unavailable when the server does not come back', async () => {
    const store = await openEventStore({ engine: 'memory' });
    const server = await createServer({ store, authenticator: undefined });
    const client = connect(await listenForTest(server));
    const messages = client.subscribe()[Symbol.asyncIterator]();
    assert.ok(isCaughtUp((await messages.next()).value as SubscriptionMessage));
    await server.close();
    await assert.rejects(messages.next(), { code: 'unavailable' });
    await client.close();
  });
});
