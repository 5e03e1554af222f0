/** A client subscription outlives its connection: it resumes where it was, retries as its policy says, and reports its state. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { isCaughtUp, isEvent, type SubscriptionMessage, type SubscriptionStatus } from '../store/model.js';
import type { EventStore } from '../store/event-store.js';
import { openEventStore } from '../engines/open.js';
import { createServer } from '../server/server.js';
import { listenForTest } from '../server/testing/serve.js';
import { connect } from './connect.js';

const describeMessage = (message: SubscriptionMessage) =>
  isEvent(message) ? `${message.stream}@${message.revision}` : isCaughtUp(message) ? 'caught-up' : 'checkpoint';

/** A server on `store` (which outlives it), on `port` or any free one. */
const serveStore = async (store: EventStore, port = 0) => {
  const server = await createServer({ store, authenticator: undefined, closeStore: false });
  return { server, url: await listenForTest(server, port) };
};

describe('client subscriptions', () => {
  it('after a reconnection, go on in a later epoch up to where it began, and fail with conflict beyond it', async () => {
    const store = await openEventStore({ engine: 'memory' });
    const first = await serveStore(store);
    const port = Number(new URL(first.url).port);
    const client = connect(first.url);
    const retry = { initialDelayMs: 10, maxDelayMs: 20 };
    await store.append('a-1', [{ type: 'E', data: 0 }]);

    // Promoted at the cursor: the cursor still holds.
    const held = client.subscribe({ from: 'start', retry })[Symbol.asyncIterator]();
    assert.equal(describeMessage((await held.next()).value as SubscriptionMessage), 'a-1@0');
    await first.server.close();
    await store.startEpoch();
    const second = await serveStore(store, port);
    await store.append('a-1', [{ type: 'E', data: 1 }]);
    const next = (await held.next()).value as SubscriptionMessage;
    assert.ok(isCaughtUp(next) || describeMessage(next) === 'a-1@1');

    // A restore from a backup taken before the cursor: a new epoch that began below it. Refused.
    const backup = await store.readAll({ filter: { includeSystem: true } });
    const { position } = await store.append('a-1', [{ type: 'E', data: 2 }]);
    const beyond = client.subscribe({ from: position, retry })[Symbol.asyncIterator]();
    assert.equal(describeMessage((await beyond.next()).value as SubscriptionMessage), 'caught-up');
    await second.server.close();
    const restoredStore = await openEventStore({ engine: 'memory' });
    await restoredStore.importEvents(backup, { keepPositions: true, source: await store.identity() });
    await restoredStore.startEpoch();
    await restoredStore.append('a-1', [{ type: 'E', data: 'after the restore' }]);
    const third = await serveStore(restoredStore, port);
    await assert.rejects(beyond.next(), { code: 'conflict' });

    await held.return?.(undefined);
    await client.close();
    await third.server.close();
    await store.close();
    await restoredStore.close();
  });

  it('resume after a server restart with no gap, no repeat and one caught-up', async () => {
    const store = await openEventStore({ engine: 'memory' });
    const serve = (port = 0) => serveStore(store, port);
    const first = await serve();
    const { url } = first;
    let { server } = first;
    const client = connect(url);
    await store.append('a-1', [
      { type: 'E', data: 0 },
      { type: 'E', data: 1 },
    ]);

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

  it('from the end resume after a server restart with the events appended meanwhile, before any event was received', async () => {
    const store = await openEventStore({ engine: 'memory' });
    const first = await serveStore(store);
    const port = Number(new URL(first.url).port);
    const client = connect(first.url);
    await store.append('a-1', [{ type: 'E', data: 0 }]);
    const retry = { initialDelayMs: 10, maxDelayMs: 20 };
    const all = client.subscribe({ from: 'end', filter: { types: ['E'] }, retry });
    const stream = client.subscribe({ stream: 'a-1', from: 'end', retry });
    const allMessages = all[Symbol.asyncIterator]();
    const streamMessages = stream[Symbol.asyncIterator]();
    assert.ok(isCaughtUp((await allMessages.next()).value as SubscriptionMessage));
    assert.ok(isCaughtUp((await streamMessages.next()).value as SubscriptionMessage));

    await first.server.close();
    await store.append('a-1', [{ type: 'E', data: 1 }]);
    const { server } = await serveStore(store, port);
    assert.equal(describeMessage((await allMessages.next()).value as SubscriptionMessage), 'a-1@1');
    assert.equal(describeMessage((await streamMessages.next()).value as SubscriptionMessage), 'a-1@1');

    await all.close();
    await stream.close();
    await client.close();
    await server.close();
    await store.close();
  });

  it('retry for as long as the policy says, start the count over after each reconnect, and report their state', async () => {
    const store = await openEventStore({ engine: 'memory' });
    const serve = (port = 0) => serveStore(store, port);
    const first = await serve();
    const { url } = first;
    let { server } = first;
    const port = Number(new URL(url).port);
    const client = connect(url);
    const statuses: SubscriptionStatus[] = [];
    // Each outage takes several attempts; together they take more than maxAttempts, so only a count that
    // starts over after each reconnect lets the subscription outlive both.
    const subscription = client.subscribe({
      stream: 'quiet-1',
      retry: { initialDelayMs: 20, maxDelayMs: 40, maxAttempts: 7 },
      onStatus: (status) => statuses.push(status),
    });
    const messages = subscription[Symbol.asyncIterator]();
    assert.ok(isCaughtUp((await messages.next()).value as SubscriptionMessage));
    const next = messages.next();
    // Each outage lasts until the subscription has failed 4 times in a row (it may fail once or twice more
    // while the server comes back): fewer than maxAttempts each, more than maxAttempts together.
    const failedInARow = () => {
      const last = statuses.at(-1);
      return last?.state === 'reconnecting' ? last.attempt : 0;
    };
    for (let outage = 0; outage < 2; outage++) {
      await server.close();
      while (failedInARow() < 4) await sleep(5);
      ({ server } = await serve(port));
      while (statuses.at(-1)?.state !== 'connected') await sleep(5);
    }
    const attempts = statuses.filter((status) => status.state === 'reconnecting').map((status) => (status as { attempt: number }).attempt);
    assert.ok(attempts.length > 7, `${attempts.length} attempts in all: ${JSON.stringify(statuses.map((status) => status.state))}`);
    assert.equal(attempts.filter((attempt) => attempt === 1).length, 2, 'the count started over after the first reconnect');
    assert.deepEqual(statuses.filter((status) => status.state === 'connected').length, 2);
    await store.append('quiet-1', [{ type: 'E', data: 0 }]);
    assert.equal(describeMessage((await next).value as SubscriptionMessage), 'quiet-1@0');

    // A server that stays away: after maxAttempts failures in a row, unavailable, reported as failed.
    const failing: string[] = [];
    const impatient = client.subscribe({
      from: 'end',
      retry: { initialDelayMs: 10, maxDelayMs: 20, maxAttempts: 3 },
      onStatus: (status) => failing.push(status.state),
    });
    const impatientMessages = impatient[Symbol.asyncIterator]();
    assert.ok(isCaughtUp((await impatientMessages.next()).value as SubscriptionMessage));
    await server.close();
    await assert.rejects(impatientMessages.next(), { code: 'unavailable' });
    assert.deepEqual(failing, ['reconnecting', 'reconnecting', 'reconnecting', 'failed']);
    await subscription.close();
    await client.close();
    await store.close();
  });
});
