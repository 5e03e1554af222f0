/** Every rule of the account decider, as given/when/then: no store, only the decider's own functions. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DeciderSpecification } from 'annals';
import { account, formatMoney, type AccountEvent } from './account.js';

const given = DeciderSpecification.for(account).given;

const opened = (overdraftLimit = 0): AccountEvent => ({
  type: 'AccountOpened',
  data: { owner: 'Ada', currency: 'EUR', overdraftLimit },
});
const deposited = (amount: number): AccountEvent => ({ type: 'MoneyDeposited', data: { amount } });
const withdrawn = (amount: number): AccountEvent => ({ type: 'MoneyWithdrawn', data: { amount } });
const closed: AccountEvent = { type: 'AccountClosed', data: {} };

/** Amounts that are not a positive safe integer of minor units. */
const badAmounts = [0, -1, 1.5, Number.NaN, Infinity, Number.MAX_SAFE_INTEGER + 1, '10' as unknown as number];

describe('opening an account', () => {
  it('opens with an owner, a currency and an overdraft limit', () => {
    given([]).when({ kind: 'open', owner: 'Ada', currency: 'EUR', overdraftLimit: 5000 }).then(opened(5000));
  });

  it('trims the owner, and allows no overdraft', () => {
    given([]).when({ kind: 'open', owner: '  Ada ', currency: 'EUR', overdraftLimit: 0 }).then(opened(0));
  });

  it('refuses an empty owner, a currency that is not a code and a bad overdraft limit', () => {
    given([]).when({ kind: 'open', owner: ' ', currency: 'EUR', overdraftLimit: 0 }).thenRejected('the owner must be named');
    for (const currency of ['eur', 'EURO', '€', '']) {
      given([])
        .when({ kind: 'open', owner: 'Ada', currency, overdraftLimit: 0 })
        .thenRejected(/three-letter ISO 4217 code/);
    }
    for (const overdraftLimit of [-1, 0.5, Number.NaN]) {
      given([])
        .when({ kind: 'open', owner: 'Ada', currency: 'EUR', overdraftLimit })
        .thenRejected(/overdraft limit must be zero or a positive/);
    }
  });

  it('refuses to open an account twice, or again once closed', () => {
    const open = { kind: 'open', owner: 'Ada', currency: 'EUR', overdraftLimit: 0 } as const;
    given([opened()]).when(open).thenRejected('the account is open already');
    given([opened(), closed]).when(open).thenRejected('the account is closed; open a new one');
  });
});

describe('deposits', () => {
  it('accept any positive amount', () => {
    given([opened()]).when({ kind: 'deposit', amount: 1 }).then(deposited(1));
    given([opened(), deposited(500)])
      .when({ kind: 'deposit', amount: 12345 })
      .then(deposited(12345));
  });

  it('refuse amounts that are not a positive whole number of cents', () => {
    for (const amount of badAmounts) {
      given([opened()])
        .when({ kind: 'deposit', amount })
        .thenRejected(/^the amount must be a positive whole number of minor units \(cents\), not /);
    }
  });

  it('refuse a balance beyond what an integer holds exactly', () => {
    given([opened(), deposited(Number.MAX_SAFE_INTEGER)])
      .when({ kind: 'deposit', amount: 1 })
      .thenRejected('the balance would be too large');
  });
});

describe('withdrawals', () => {
  it('take the balance down to zero, and into the overdraft up to its limit', () => {
    given([opened(), deposited(1000)])
      .when({ kind: 'withdraw', amount: 1000 })
      .then(withdrawn(1000));
    given([opened(5000), deposited(1000)])
      .when({ kind: 'withdraw', amount: 6000 })
      .then(withdrawn(6000));
  });

  it('are refused beyond the overdraft limit, with a reason that shows the money', () => {
    given([opened(), deposited(1000)])
      .when({ kind: 'withdraw', amount: 1001 })
      .thenRejected('insufficient funds: withdrawing €10.01 would leave -€0.01; the overdraft limit is €0.00');
    given([opened(5000), deposited(1000), withdrawn(3000)])
      .when({ kind: 'withdraw', amount: 3001 })
      .thenRejected('insufficient funds: withdrawing €30.01 would leave -€50.01; the overdraft limit is €50.00');
  });

  it('refuse amounts that are not a positive whole number of cents', () => {
    for (const amount of badAmounts) {
      given([opened(), deposited(100)])
        .when({ kind: 'withdraw', amount })
        .thenRejected(/^the amount must be a positive whole number/);
    }
  });
});

describe('closing', () => {
  it('closes an account whose balance is zero', () => {
    given([opened()]).when({ kind: 'close' }).then(closed);
    given([opened(), deposited(700), withdrawn(700)])
      .when({ kind: 'close' })
      .then(closed);
  });

  it('is refused while money is in the account or owed to it', () => {
    given([opened(), deposited(700)])
      .when({ kind: 'close' })
      .thenRejected('the balance is €7.00; it must be zero before the account is closed');
    given([opened(1000), withdrawn(250)])
      .when({ kind: 'close' })
      .thenRejected('the balance is -€2.50; it must be zero before the account is closed');
  });

  it('decides nothing for an account closed already', () => {
    given([opened(), closed]).when({ kind: 'close' }).thenNothing();
  });
});

describe('an account not open', () => {
  it('refuses every command but open before it is opened', () => {
    given([]).when({ kind: 'deposit', amount: 100 }).thenRejected('the account is not open');
    given([]).when({ kind: 'withdraw', amount: 100 }).thenRejected('the account is not open');
    given([]).when({ kind: 'close' }).thenRejected('the account is not open');
  });

  it('refuses deposits and withdrawals once closed', () => {
    given([opened(), closed]).when({ kind: 'deposit', amount: 100 }).thenRejected('the account is closed');
    given([opened(), closed]).when({ kind: 'withdraw', amount: 100 }).thenRejected('the account is closed');
  });
});

describe('the state', () => {
  it('follows the events', () => {
    const events = [opened(5000), deposited(1000), withdrawn(300)];
    const state = events.reduce(
      (folded, event, revision) =>
        account.evolve(folded, { ...event, id: '', stream: 'account-1', revision, position: 0n, recordedAt: new Date(0), metadata: {} }),
      account.initialState(),
    );
    assert.deepEqual(state, { status: 'open', owner: 'Ada', currency: 'EUR', overdraftLimit: 5000, balance: 700 });
    // Plain data: what a snapshot of it would store reads back the same.
    assert.deepEqual(JSON.parse(JSON.stringify(state)), state);
  });
});

describe('formatMoney', () => {
  it("shows minor units in the currency's own precision", () => {
    assert.equal(formatMoney(12345, 'EUR'), '€123.45');
    assert.equal(formatMoney(-5, 'USD'), '-$0.05');
    assert.equal(formatMoney(12345, 'JPY'), '¥12,345');
  });
});
