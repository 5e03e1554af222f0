/**
 * A bank account as an Annals decider: the domain a command service owns, with no store in sight. The
 * state is what `decide` needs to enforce the rules; the events are the facts the store keeps.
 *
 * Money is an integer number of the currency's minor units (cents for EUR, yen for JPY): floating point
 * would lose cents, and a safe integer survives JSON and every engine exactly.
 */
import { CommandRejectedError, type Decider, type Upcasters } from 'annals';

export type AccountEvent =
  | { type: 'AccountOpened'; data: { owner: string; currency: string; overdraftLimit: number } }
  | { type: 'MoneyDeposited'; data: { amount: number } }
  | { type: 'MoneyWithdrawn'; data: { amount: number } }
  | { type: 'AccountClosed'; data: Record<string, never> };

export type AccountCommand =
  | { kind: 'open'; owner: string; currency: string; overdraftLimit: number }
  | { kind: 'deposit'; amount: number }
  | { kind: 'withdraw'; amount: number }
  | { kind: 'close' };

export interface AccountDetails {
  owner: string;
  currency: string;
  /** How far below zero the balance may go, in minor units. */
  overdraftLimit: number;
  balance: number;
}

// Plain JSON data on purpose: the state is kept in snapshots, which store JSON.
export type Account = { status: 'unopened' } | ({ status: 'open' | 'closed' } & AccountDetails);

/** An amount as a currency shows it: 12345 in EUR is "€123.45", in JPY "¥12,345". */
export const formatMoney = (amount: number, currency: string): string => {
  const format = new Intl.NumberFormat('en', { style: 'currency', currency });
  return format.format(amount / 10 ** format.resolvedOptions().maximumFractionDigits!);
};

const checkAmount = (name: string, amount: number, { zeroAllowed = false } = {}) => {
  if (!Number.isSafeInteger(amount) || amount < 0 || (amount === 0 && !zeroAllowed)) {
    const wanted = zeroAllowed ? 'zero or a positive' : 'a positive';
    throw new CommandRejectedError(`the ${name} must be ${wanted} whole number of minor units (cents), not ${String(amount)}`);
  }
};

const open = (command: Extract<AccountCommand, { kind: 'open' }>): AccountEvent => {
  const owner = typeof command.owner === 'string' ? command.owner.trim() : '';
  if (owner === '') throw new CommandRejectedError('the owner must be named');
  if (typeof command.currency !== 'string' || !/^[A-Z]{3}$/.test(command.currency)) {
    throw new CommandRejectedError(`the currency must be a three-letter ISO 4217 code such as EUR, not ${String(command.currency)}`);
  }
  checkAmount('overdraft limit', command.overdraftLimit, { zeroAllowed: true });
  return { type: 'AccountOpened', data: { owner, currency: command.currency, overdraftLimit: command.overdraftLimit } };
};

const withdraw = (account: AccountDetails, amount: number): AccountEvent => {
  checkAmount('amount', amount);
  const after = account.balance - amount;
  if (after < -account.overdraftLimit) {
    const money = (value: number) => formatMoney(value, account.currency);
    throw new CommandRejectedError(
      `insufficient funds: withdrawing ${money(amount)} would leave ${money(after)}; the overdraft limit is ${money(account.overdraftLimit)}`,
    );
  }
  return { type: 'MoneyWithdrawn', data: { amount } };
};

export const account: Decider<Account, AccountCommand, AccountEvent> = {
  initialState: () => ({ status: 'unopened' }),

  evolve: (state, event) => {
    if (event.type === 'AccountOpened') return { status: 'open', ...event.data, balance: 0 };
    // decide writes nothing before AccountOpened; this guard only tells the compiler so.
    if (state.status === 'unopened') return state;
    switch (event.type) {
      case 'MoneyDeposited':
        return { ...state, balance: state.balance + event.data.amount };
      case 'MoneyWithdrawn':
        return { ...state, balance: state.balance - event.data.amount };
      case 'AccountClosed':
        return { ...state, status: 'closed' };
    }
  },

  decide: (command, state) => {
    if (command.kind === 'open') {
      if (state.status === 'open') throw new CommandRejectedError('the account is open already');
      // A closed account's history stays with its id: opening it again would mix two accounts in one stream.
      if (state.status === 'closed') throw new CommandRejectedError('the account is closed; open a new one');
      return open(command);
    }
    if (state.status === 'unopened') throw new CommandRejectedError('the account is not open');
    if (state.status === 'closed') {
      // Closing twice asks for what is already true: nothing to write, and nothing for the caller to fix.
      if (command.kind === 'close') return [];
      throw new CommandRejectedError('the account is closed');
    }
    switch (command.kind) {
      case 'deposit':
        checkAmount('amount', command.amount);
        if (!Number.isSafeInteger(state.balance + command.amount)) throw new CommandRejectedError('the balance would be too large');
        return { type: 'MoneyDeposited', data: { amount: command.amount } };
      case 'withdraw':
        return withdraw(state, command.amount);
      case 'close':
        if (state.balance !== 0) {
          throw new CommandRejectedError(
            `the balance is ${formatMoney(state.balance, state.currency)}; it must be zero before the account is closed`,
          );
        }
        return { type: 'AccountClosed', data: {} };
    }
  },

  // A busy account loads from its latest snapshot and the events after it, not from its first event.
  // Raise schemaVersion whenever evolve or the shape of Account changes: older snapshots are then ignored.
  snapshot: { every: 50, schemaVersion: 1 },
};

/**
 * Events as the first version of the service wrote them: a deposit was `Deposited`, its amount in euros
 * as a decimal. A store opened with these upcasters reads them as today's `MoneyDeposited`, so the decider
 * knows one shape; the log keeps what was written.
 */
export const upcasters: Upcasters = {
  Deposited: (event) => ({ type: 'MoneyDeposited', data: { amount: Math.round((event.data as { euros: number }).euros * 100) } }),
};
