/**
 * The account service a microservice would run behind its API: one function per command and one query.
 * It takes any `EventStore`, so the same code runs on the embedded store (`openEventStore`) and against
 * an Annals server (`connect(url, { token })`).
 *
 * Refusals come out as `CommandRejectedError` (its `reason` is for the caller); an API maps them to 422.
 */
import { aggregateStream, handleCommand, type EventStore } from 'annals';
import { account, type AccountCommand } from './account.js';

/** Who asked: the caller's request id makes a retried request harmless; the correlation id ties the events to the request that caused them. */
export interface Request {
  accountId: string;
  /** Unique per request and the same on every retry of it (an HTTP Idempotency-Key, a message id). */
  requestId: string;
  correlationId?: string;
}

export interface Receipt {
  accountId: string;
  balance: number;
  currency: string;
  /** The account stream's revision after the command. */
  revision: number;
  /** This request was handled before: this is its original outcome, and nothing was written again. */
  replayed: boolean;
}

export interface Balance {
  status: 'open' | 'closed';
  owner: string;
  currency: string;
  balance: number;
  overdraftLimit: number;
  revision: number;
}

/** One stream per account, in the `account` category, so that a projection can follow every account. */
export const streamOf = (accountId: string) => `account-${accountId}`;

// A popular account has many writers at once; each conflict costs a reload and a short random wait, far
// cheaper than failing a payment. The default of 10 suits a stream with a few writers.
const maxAttempts = 50;

const run = async (store: EventStore, request: Request, command: AccountCommand): Promise<Receipt> => {
  const result = await handleCommand(store, streamOf(request.accountId), command, account, {
    commandId: request.requestId,
    metadata: { correlationId: request.correlationId ?? request.requestId },
    maxAttempts,
  });
  const { state } = result;
  // The decider refuses every command but open on an unopened account, so this cannot happen.
  if (state.status === 'unopened') throw new Error(`account ${request.accountId} is not open after a ${command.kind}`);
  return {
    accountId: request.accountId,
    balance: state.balance,
    currency: state.currency,
    revision: result.revision,
    replayed: result.replayed,
  };
};

export const openAccount = (store: EventStore, request: Request & { owner: string; currency: string; overdraftLimit?: number }) =>
  run(store, request, { kind: 'open', owner: request.owner, currency: request.currency, overdraftLimit: request.overdraftLimit ?? 0 });

export const deposit = (store: EventStore, request: Request & { amount: number }) =>
  run(store, request, { kind: 'deposit', amount: request.amount });

export const withdraw = (store: EventStore, request: Request & { amount: number }) =>
  run(store, request, { kind: 'withdraw', amount: request.amount });

export const close = (store: EventStore, request: Request) => run(store, request, { kind: 'close' });

/** The account as its events tell it now; `undefined` for an account never opened. */
export const balance = async (store: EventStore, accountId: string): Promise<Balance | undefined> => {
  const { state, revision } = await aggregateStream(store, streamOf(accountId), account);
  if (state.status === 'unopened') return undefined;
  return { ...state, revision };
};
