/** The checks of every snapshot argument, made once for the embedded store and the client (wrap-snapshots.ts). */
import { InvalidArgumentError, PayloadTooLargeError } from '../../store/errors.js';
import { checkJson, checkOptionsObject, serialised, shown } from '../../store/validate.js';
import type { PreparedSnapshot } from './engine.js';

/** Fits PostgreSQL's `int`; versions are small counters in practice. */
const maxSchemaVersion = 2 ** 31 - 1;

export const checkSchemaVersion = (value: unknown, what = 'schemaVersion'): number => {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 && value <= maxSchemaVersion) return value;
  throw new InvalidArgumentError(`${what} is ${shown(value)}; allowed: an integer from 0 to ${maxSchemaVersion}`);
};

/** `{ schemaVersion? }` of read and delete. */
export const checkSnapshotSelection = (options: unknown): number | undefined => {
  const { schemaVersion } = checkOptionsObject(options, ['schemaVersion']);
  return schemaVersion === undefined ? undefined : checkSchemaVersion(schemaVersion);
};

/** A snapshot to write, its state as JSON text of at most `maxBytes`. */
export const prepareSnapshot = (snapshot: unknown, maxBytes: number): PreparedSnapshot => {
  if (typeof snapshot !== 'object' || snapshot === null || Array.isArray(snapshot)) {
    throw new InvalidArgumentError(`snapshot is ${shown(snapshot)}; allowed: { revision, schemaVersion, state }`);
  }
  const { revision, schemaVersion, state } = checkOptionsObject(snapshot, ['revision', 'schemaVersion', 'state'], 'snapshot');
  if (typeof revision !== 'number' || !Number.isSafeInteger(revision) || revision < 0) {
    throw new InvalidArgumentError(`snapshot.revision is ${shown(revision)}; allowed: a revision (an integer >= 0)`);
  }
  if (state === undefined) throw new InvalidArgumentError('snapshot.state is missing; allowed: a JSON value');
  const text = serialised(state, 'snapshot.state');
  const bytes = Buffer.byteLength(text);
  if (bytes > maxBytes) throw new PayloadTooLargeError(`snapshot.state is ${bytes} bytes; a snapshot holds at most ${maxBytes}`);
  checkJson(state, 'snapshot.state');
  return { revision, schemaVersion: checkSchemaVersion(schemaVersion, 'snapshot.schemaVersion'), state: text };
};
