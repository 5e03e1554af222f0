/**
 * Which failures of PostgreSQL mean "the store is unavailable, try again" rather than a bug: the
 * connection is gone (dropped, server restarted, backend terminated), the server refuses new work
 * (starting up, shutting down, out of connections), or a statement ran past its timeout.
 */
import pg from 'pg';
import { AnnalsError, InvalidArgumentError, UnavailableError, type ReadOnlyReason } from '../../store/errors.js';
import { shownUrl } from '../../store/validate.js';

// SQLSTATE classes 08 (connection), 53 (resources), 57 (operator intervention: admin shutdown,
// terminated backend, statement timeout), 58 (system error), plus lock_not_available and
// read_only_sql_transaction (a hot standby, or a database set to read only).
const unavailableState = /^(08|53|57|58)|^55P03$|^25006$/;
// What the driver says when the server never answered (it has no SQLSTATE then).
const driverFailure = /connection|terminated|timeout|not queryable|after calling end/i;

/** Whether `error` says that PostgreSQL could not do the work, as opposed to refusing it. */
export const isUnavailable = (error: unknown): boolean => {
  if (error instanceof AnnalsError) return error.code === 'unavailable';
  if (error instanceof pg.DatabaseError) return unavailableState.test(error.code ?? '');
  if (!(error instanceof Error)) return false;
  const systemError = typeof (error as NodeJS.ErrnoException).syscall === 'string';
  return systemError || driverFailure.test(error.message) || error instanceof AggregateError;
};

/** Whether the connection itself was lost (as opposed to a statement that timed out or was refused). */
export const isConnectionLost = (error: unknown): boolean => {
  const cause = error instanceof AnnalsError ? error.cause : error;
  if (cause instanceof pg.DatabaseError) return /^(08|57P0[123])/.test(cause.code ?? '');
  return cause instanceof Error && /connection terminated|not queryable/i.test(cause.message);
};

/**
 * A PostgreSQL URL, checked before anything connects with it: a typo must not turn into a host lookup of
 * part of it. Messages show the URL without its password.
 */
export const checkPostgresUrl = (url: unknown): URL => {
  let parsed: URL | undefined;
  try {
    parsed = typeof url === 'string' ? new URL(url) : undefined;
  } catch {
    parsed = undefined;
  }
  if (parsed === undefined || !['postgres:', 'postgresql:'].includes(parsed.protocol)) {
    throw new InvalidArgumentError(`the PostgreSQL url is ${shownUrl(url)}; allowed: postgres://user[:password]@host[:port]/database`);
  }
  return parsed;
};

/** Failures that no retry can mend: the URL names a database or a role that the server does not have. */
const configurationError = (error: unknown): AnnalsError | undefined => {
  if (!(error instanceof pg.DatabaseError)) return undefined;
  if (error.code === '3D000')
    return new InvalidArgumentError(`PostgreSQL says: ${error.message}; create it, or name another database in the url`);
  if (error.code === '28000' || error.code === '28P01') {
    return new InvalidArgumentError(`PostgreSQL refused the credentials of the url: ${error.message}; check its user and password`);
  }
  return undefined;
};

/** Why an unavailable PostgreSQL takes no writes until the cause goes away; none for a passing failure (a timeout, a lock). */
const readOnlyReasonOf = (error: unknown): ReadOnlyReason | undefined => {
  if (error instanceof pg.DatabaseError) {
    if (error.code === '25006') return 'db_read_only';
    if (error.code === '53100') return 'disk_full';
    return /^(08|57P0[123])/.test(error.code ?? '') ? 'down' : undefined;
  }
  if (!(error instanceof Error)) return undefined;
  const systemError = typeof (error as NodeJS.ErrnoException).syscall === 'string';
  return systemError || error instanceof AggregateError || /connection|terminated|not queryable/i.test(error.message) ? 'down' : undefined;
};

/** `error` as an `UnavailableError` or a configuration error when it is one; anything else is returned as it is. */
export const translateError = (error: unknown, doing: string): unknown => {
  if (error instanceof AnnalsError) return error;
  const configuration = configurationError(error);
  if (configuration !== undefined) return configuration;
  if (!isUnavailable(error)) return error;
  const detail = error instanceof Error ? error.message || error.name : String(error);
  return new UnavailableError(`PostgreSQL is unavailable while ${doing}: ${detail}`, { cause: error, reason: readOnlyReasonOf(error) });
};
