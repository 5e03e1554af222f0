import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { account } from './conformance/suite.js';
import { DeciderSpecification } from './specification.js';

const given = DeciderSpecification.for(account).given;

describe('decider specification', () => {
  it('passes when the decided events are the expected ones', () => {
    given([{ type: 'Opened', data: { owner: 'ada' } }])
      .when({ kind: 'deposit', amount: 5 })
      .then([{ type: 'Deposited', data: { amount: 5 } }]);
    given()
      .when({ kind: 'open', owner: 'bo' })
      .then({ type: 'Opened', data: { owner: 'bo' } });
    given().when({ kind: 'nothing' }).thenNothing();
  });

  it('passes when the command is refused as expected', () => {
    given().when({ kind: 'withdraw', amount: 1 }).thenRejected('the account is not open');
    given([
      { type: 'Opened', data: { owner: 'ada' } },
      { type: 'Deposited', data: { amount: 3 } },
    ])
      .when({ kind: 'withdraw', amount: 5 })
      .thenRejected(/less than 5/);
  });

  it('fails with a message that shows what was expected and what came', () => {
    assert.throws(
      () =>
        given()
          .when({ kind: 'open', owner: 'cy' })
          .then({ type: 'Opened', data: { owner: 'someone else' } }),
      (error: Error) => /decided events differ/.test(error.message) && /someone else/.test(error.message),
    );
    assert.throws(
      () => given().when({ kind: 'open', owner: 'cy' }).thenRejected(),
      /expected the command to be refused, but it decided \[\{"type":"Opened"/,
    );
    assert.throws(
      () =>
        given()
          .when({ kind: 'deposit', amount: 1 })
          .then({ type: 'Deposited', data: { amount: 1 } }),
      /but it threw/,
    );
    assert.throws(() => given().when({ kind: 'withdraw', amount: 1 }).thenRejected('another reason'), /another reason/);
  });
});
