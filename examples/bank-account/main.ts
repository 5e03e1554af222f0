/**
 * The bank account story on an embedded SQLite store:
 *   node --import tsx examples/bank-account/main.ts [path/to/bank.db]
 * Without a path it uses a temporary folder and removes it. Every request has an id, so running the
 * story again on the same file replays each command that was written instead of writing it twice
 * (refusals are not remembered: those are decided again, on the account as it is now).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommandRejectedError, openEventStore } from 'annals';
import { formatMoney, upcasters } from './account.js';
import { balance, close, deposit, openAccount, withdraw, type Receipt } from './service.js';

const temporary = process.argv[2] === undefined ? mkdtempSync(join(tmpdir(), 'annals-bank-')) : undefined;
const path = process.argv[2] ?? join(temporary!, 'bank.db');
const store = await openEventStore({ engine: 'sqlite', path, upcasters });
console.log(`store: ${path}\n`);

const accountId = 'ada-1';
const euros = (cents: number) => formatMoney(cents, 'EUR');

/** Runs one step of the story and prints one line for it, a refusal included. */
const step = async (label: string, command: () => Promise<Receipt>) => {
  try {
    const receipt = await command();
    const replayed = receipt.replayed ? '   (replayed: true, nothing written)' : '';
    console.log(`${label.padEnd(30)} balance ${euros(receipt.balance).padStart(8)}   revision ${receipt.revision}${replayed}`);
  } catch (error) {
    if (!(error instanceof CommandRejectedError)) throw error;
    console.log(`${label.padEnd(30)} refused: ${error.reason}`);
  }
};

try {
  const request = (requestId: string) => ({ accountId, requestId, correlationId: 'demo' });
  await step('open for Ada, overdraft €50', () =>
    openAccount(store, { ...request('req-1'), owner: 'Ada Lovelace', currency: 'EUR', overdraftLimit: 5000 }),
  );
  await step('deposit €120.00', () => deposit(store, { ...request('req-2'), amount: 12000 }));
  await step('deposit €30.50', () => deposit(store, { ...request('req-3'), amount: 3050 }));
  await step('withdraw €300.00', () => withdraw(store, { ...request('req-4'), amount: 30000 }));
  await step('withdraw €100.00', () => withdraw(store, { ...request('req-5'), amount: 10000 }));
  await step('withdraw €100.00, retried', () => withdraw(store, { ...request('req-5'), amount: 10000 }));
  await step('close', () => close(store, request('req-6')));
  await step('withdraw the rest, €50.50', () => withdraw(store, { ...request('req-7'), amount: 5050 }));
  await step('close', () => close(store, request('req-8')));
  await step('deposit €10.00', () => deposit(store, { ...request('req-9'), amount: 1000 }));

  const now = await balance(store, accountId);
  console.log(`\n${now?.owner}'s account: ${euros(now?.balance ?? 0)}, ${now?.status}, ${(now?.revision ?? -1) + 1} events`);
} finally {
  await store.close();
  if (temporary !== undefined) rmSync(temporary, { recursive: true, force: true });
}
