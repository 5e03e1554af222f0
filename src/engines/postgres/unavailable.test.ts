import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pg from 'pg';
import { UnavailableError } from '../../store/errors.js';
import { translateError } from './unavailable.js';

const databaseError = (code: string) => Object.assign(new pg.DatabaseError('refused', 0, 'error'), { code });
const reasonOf = (error: unknown) => {
  const translated = translateError(error, 'appending');
  assert.ok(translated instanceof UnavailableError, String(translated));
  return translated.reason;
};

describe('PostgreSQL failures as unavailable, with the reason a store takes no writes', () => {
  it('names a standby or read-only database, a full disk, and a server out of reach', () => {
    assert.equal(reasonOf(databaseError('25006')), 'db_read_only');
    assert.equal(reasonOf(databaseError('53100')), 'disk_full');
    assert.equal(reasonOf(databaseError('57P01')), 'down');
    assert.equal(
      reasonOf(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { syscall: 'connect', code: 'ECONNREFUSED' })),
      'down',
    );
  });

  it('gives no reason for a passing failure: a statement timeout, a lock not available, too many connections', () => {
    assert.equal(reasonOf(databaseError('57014')), undefined);
    assert.equal(reasonOf(databaseError('55P03')), undefined);
    assert.equal(reasonOf(databaseError('53300')), undefined);
  });
});
