/**
 * The account service against real stores: in memory, on SQLite in a temporary folder, and through the
 * HTTP client against a server on loopback whose token may only touch account streams, as a
 * microservice's would.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe } from 'node:test';
import { CommandRejectedError, openEventStore, type EventStore } from 'annals';
import { connect } from 'annals/client';
import { createAuthenticator } from '../../src/auth/tokens.js';
import { serveForTest } from '../../src/server/testing/serve.js';
import { storeTest } from '../../src/store/conformance/harness.js';
import { upcasters } from './account.js';
import { balance, close, deposit, openAccount, streamOf, withdraw } from './service.js';

const dir = mkdtempSync(join(tmpdir(), 'annals-bank-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let count = 0;

const token = 'bank-service-token-0123456789';
const overHttp = async (): Promise<EventStore> => {
  const authenticator = createAuthenticator([{ name: 'bank', role: 'writer', streams: ['account-'], token }]);
  // Closing the client `serveForTest` returns closes the server and its store; the service's own client
  // brings the upcasters, which run where events are read, never on the server.
  const served = await serveForTest(await openEventStore({ engine: 'memory' }), { authenticator, token });
  const client = connect(served.url, { token, upcasters });
  const closeClient = client.close.bind(client);
  client.close = async () => (await closeClient(), await served.client.close());
  return client;
};

const stores: [string, () => Promise<EventStore>][] = [
  ['memory', () => openEventStore({ engine: 'memory', upcasters })],
  ['sqlite', () => openEventStore({ engine: 'sqlite', path: join(dir, `bank-${++count}.db`), upcasters })],
  ['the client, over HTTP', overHttp],
];

const rejection = (promise: Promise<unknown>) =>
  promise.then(
    () => assert.fail('expected the command to be refused'),
    (error: unknown) => {
      assert.ok(error instanceof CommandRejectedError, `expected a CommandRejectedError, got ${String(error)}`);
      return error;
    },
  );

for (const [name, open] of stores) {
  describe(`the account service on ${name}`, () => {
    const test = storeTest(open);

    test("reads deposits the first version of the service wrote, in euros, as today's events", async (store) => {
      await openAccount(store, { accountId: 'old', requestId: 'open', owner: 'Cy', currency: 'EUR', overdraftLimit: 0 });
      await store.append(streamOf('old'), [{ type: 'Deposited', data: { euros: 12.5 } }]);
      assert.equal((await balance(store, 'old'))?.balance, 1250);
      const [, deposited] = await store.readStream(streamOf('old'));
      assert.deepEqual([deposited?.type, deposited?.data], ['MoneyDeposited', { amount: 1250 }]);
      assert.equal((await withdraw(store, { accountId: 'old', requestId: 'w', amount: 1250 })).balance, 0);
    });

    test('keeps a snapshot every 50 events; the balance is the same without it', async (store) => {
      await openAccount(store, { accountId: 'busy', requestId: 'open', owner: 'Bo', currency: 'EUR', overdraftLimit: 0 });
      for (let index = 1; index <= 120; index++) await deposit(store, { accountId: 'busy', requestId: `d-${index}`, amount: 100 });
      const snapshot = await store.snapshots.read(streamOf('busy'), { schemaVersion: 1 });
      assert.equal(snapshot?.revision, 99);
      assert.equal((await balance(store, 'busy'))?.balance, 12_000);
      await store.snapshots.delete(streamOf('busy'));
      assert.equal((await balance(store, 'busy'))?.balance, 12_000);
    });

    test('opens, takes deposits and withdrawals, refuses an overdraft beyond the limit, and closes', async (store) => {
      const opened = await openAccount(store, { accountId: 'a1', requestId: 'r1', owner: 'Ada', currency: 'EUR', overdraftLimit: 1000 });
      assert.deepEqual(opened, { accountId: 'a1', balance: 0, currency: 'EUR', revision: 0, replayed: false });
      await deposit(store, { accountId: 'a1', requestId: 'r2', amount: 2500 });
      const refused = await rejection(withdraw(store, { accountId: 'a1', requestId: 'r3', amount: 3501 }));
      assert.equal(refused.code, 'command_rejected');
      assert.match(refused.reason, /^insufficient funds: withdrawing €35\.01 would leave -€10\.01/);
      assert.equal((await withdraw(store, { accountId: 'a1', requestId: 'r4', amount: 3500 })).balance, -1000);
      assert.match((await rejection(close(store, { accountId: 'a1', requestId: 'r5' }))).reason, /^the balance is -€10\.00/);
      await deposit(store, { accountId: 'a1', requestId: 'r6', amount: 1000 });
      assert.equal((await close(store, { accountId: 'a1', requestId: 'r7' })).revision, 4);
      assert.deepEqual(await balance(store, 'a1'), {
        status: 'closed',
        owner: 'Ada',
        currency: 'EUR',
        overdraftLimit: 1000,
        balance: 0,
        revision: 4,
      });
      assert.equal(await balance(store, 'nobody'), undefined);
      assert.equal(
        (await rejection(deposit(store, { accountId: 'nobody', requestId: 'r8', amount: 1 }))).reason,
        'the account is not open',
      );
    });

    test('answers a retried request with its original outcome, before and after other commands', async (store) => {
      await openAccount(store, { accountId: 'a2', requestId: 'open', owner: 'Bo', currency: 'EUR' });
      const first = await deposit(store, { accountId: 'a2', requestId: 'pay-1', amount: 100 });
      const retried = await deposit(store, { accountId: 'a2', requestId: 'pay-1', amount: 100 });
      assert.deepEqual(retried, { ...first, replayed: true });

      await deposit(store, { accountId: 'a2', requestId: 'pay-2', amount: 40 });
      const late = await deposit(store, { accountId: 'a2', requestId: 'pay-1', amount: 100 });
      assert.deepEqual(late, { ...first, replayed: true }, 'the original outcome, not the account as it is now');
      assert.equal((await balance(store, 'a2'))?.balance, 140);
      assert.equal((await store.readStream(streamOf('a2'))).length, 3);

      // A request id belongs to its account: the same id on another account is another request.
      await openAccount(store, { accountId: 'a3', requestId: 'open', owner: 'Cy', currency: 'EUR' });
      assert.equal((await deposit(store, { accountId: 'a3', requestId: 'pay-1', amount: 5 })).replayed, false);
    });

    test('does not remember a refusal: the same request may succeed once the account allows it', async (store) => {
      await openAccount(store, { accountId: 'a4', requestId: 'open', owner: 'Di', currency: 'EUR' });
      await rejection(withdraw(store, { accountId: 'a4', requestId: 'w-1', amount: 50 }));
      await deposit(store, { accountId: 'a4', requestId: 'd-1', amount: 50 });
      assert.deepEqual(await withdraw(store, { accountId: 'a4', requestId: 'w-1', amount: 50 }), {
        accountId: 'a4',
        balance: 0,
        currency: 'EUR',
        revision: 2,
        replayed: false,
      });
    });

    test('carries the correlation id and the request id into the events', async (store) => {
      await openAccount(store, { accountId: 'a5', requestId: 'open-a5', correlationId: 'signup-9', owner: 'Ed', currency: 'GBP' });
      await deposit(store, { accountId: 'a5', requestId: 'pay-a5', amount: 1 });
      const [opened, deposited] = await store.readStream(streamOf('a5'));
      assert.deepEqual(opened?.metadata, { correlationId: 'signup-9', commandId: 'open-a5' });
      // Without a correlation id the request is its own correlation.
      assert.deepEqual(deposited?.metadata, { correlationId: 'pay-a5', commandId: 'pay-a5' });
    });

    test('loses no deposit when 16 arrive at once: each conflict decides again', async (store) => {
      await openAccount(store, { accountId: 'hot', requestId: 'open', owner: 'Fay', currency: 'EUR' });
      const amounts = Array.from({ length: 16 }, (_, index) => 100 + index);
      const receipts = await Promise.all(
        amounts.map((amount, index) => deposit(store, { accountId: 'hot', requestId: `pay-${index}`, amount })),
      );
      assert.ok(receipts.every((receipt) => !receipt.replayed));
      assert.deepEqual(
        receipts.map((receipt) => receipt.revision).sort((a, b) => a - b),
        Array.from({ length: 16 }, (_, index) => index + 1),
      );
      const sum = amounts.reduce((total, amount) => total + amount, 0);
      assert.deepEqual(await balance(store, 'hot'), {
        status: 'open',
        owner: 'Fay',
        currency: 'EUR',
        overdraftLimit: 0,
        balance: sum,
        revision: 16,
      });

      // Retried all at once too, every one of them answers as before and writes nothing.
      const again = await Promise.all(
        amounts.map((amount, index) => deposit(store, { accountId: 'hot', requestId: `pay-${index}`, amount })),
      );
      assert.deepEqual(
        again,
        receipts.map((receipt) => ({ ...receipt, replayed: true })),
      );
      assert.equal((await balance(store, 'hot'))?.revision, 16);
    });
  });
}
