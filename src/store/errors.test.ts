import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AnnalsError, NotFoundError, StreamDeletedError, WrongExpectedRevisionError } from './errors.js';

describe('errors', () => {
  it('are instances of their classes in another copy of this module (as in @annals/client)', async () => {
    const copy = (await import(`./errors.js?copy=${Date.now()}`)) as typeof import('./errors.js');
    assert.notEqual(copy.WrongExpectedRevisionError, WrongExpectedRevisionError, 'a second copy of the classes');
    const theirs = new copy.WrongExpectedRevisionError('s-1', 0, 1);
    assert.ok(theirs instanceof WrongExpectedRevisionError);
    assert.ok(theirs instanceof AnnalsError);
    assert.ok(theirs instanceof Error);
    assert.ok(!(theirs instanceof StreamDeletedError));
    const ours = new StreamDeletedError('s-1');
    assert.ok(ours instanceof copy.StreamDeletedError && ours instanceof copy.AnnalsError);
    assert.ok(!(ours instanceof copy.NotFoundError));
    assert.ok(!(new Error('plain') instanceof AnnalsError));
    assert.ok(!({ name: 'NotFoundError' } instanceof NotFoundError));
  });
});
