import type { ExpectedRevision } from './model.js';

export type ErrorCode =
  | 'wrong_expected_revision'
  | 'stream_deleted'
  | 'invalid_argument'
  | 'payload_too_large'
  | 'access_denied'
  | 'unauthenticated'
  | 'not_found'
  | 'unavailable'
  | 'conflict'
  | 'command_rejected';

/** Where an error records the names of its classes, so that another copy of these classes recognises it. */
const classesKey = Symbol.for('annals.error.classes');

/**
 * Every error Annals raises on purpose carries a stable `code`; anything else is a bug.
 *
 * `instanceof` holds across copies of these classes (the `@annals/client` package and `annals` each
 * carry one): an error is an instance of any Annals error class whose name is in its class chain.
 */
export class AnnalsError extends Error {
  declare readonly [classesKey]: readonly string[];

  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
    const classes: string[] = [];
    for (let type: unknown = new.target; type !== Error && typeof type === 'function'; type = Object.getPrototypeOf(type))
      classes.push(type.name);
    Object.defineProperty(this, classesKey, { value: classes });
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    if (Function.prototype[Symbol.hasInstance].call(this, value)) return true;
    const classes = (value as { [classesKey]?: unknown } | null)?.[classesKey];
    return Array.isArray(classes) && classes.includes(this.name);
  }
}

/** The revision a stream really has: its last revision, or `no_stream` when it is absent. */
export type ActualRevision = number | 'no_stream';

export class WrongExpectedRevisionError extends AnnalsError {
  constructor(
    readonly stream: string,
    readonly expected: ExpectedRevision,
    readonly actual: ActualRevision,
    detail = '',
  ) {
    super(
      'wrong_expected_revision',
      `stream '${stream}': expected revision ${String(expected)}, actual ${String(actual)}${detail ? ` (${detail})` : ''}`,
    );
  }
}

export class StreamDeletedError extends AnnalsError {
  constructor(readonly stream: string) {
    super('stream_deleted', `stream '${stream}' is deleted for ever`);
  }
}

export class InvalidArgumentError extends AnnalsError {
  constructor(message: string) {
    super('invalid_argument', message);
  }
}

export class PayloadTooLargeError extends AnnalsError {
  constructor(message: string) {
    super('payload_too_large', message);
  }
}

export class AccessDeniedError extends AnnalsError {
  constructor(message = 'access denied') {
    super('access_denied', message);
  }
}

export class UnauthenticatedError extends AnnalsError {
  constructor(message = 'authentication required') {
    super('unauthenticated', message);
  }
}

export class NotFoundError extends AnnalsError {
  constructor(message: string) {
    super('not_found', message);
  }
}

/**
 * Why a store takes no writes for now (DESIGN.md section 11): the operator said so (`flag`), it is a
 * replica, its disk budget is spent, its disk is full, its database only reads (a PostgreSQL standby), or
 * its database is out of reach (`down`).
 */
export const readOnlyReasons = ['flag', 'replica', 'disk_budget', 'disk_full', 'db_read_only', 'down'] as const;
export type ReadOnlyReason = (typeof readOnlyReasons)[number];

export class UnavailableError extends AnnalsError {
  /** Set when the store cannot write until the cause goes away (as opposed to a passing failure). */
  readonly reason?: ReadOnlyReason;
  constructor(message: string, options?: { cause?: unknown; reason?: ReadOnlyReason | undefined }) {
    super('unavailable', message);
    if (options?.cause !== undefined) this.cause = options.cause;
    if (options?.reason !== undefined) this.reason = options.reason;
  }
}

export class ConflictError extends AnnalsError {
  constructor(message: string) {
    super('conflict', message);
  }
}

/** A decider refused a command: `reason` is for the caller to show. Nothing was written. */
export class CommandRejectedError extends AnnalsError {
  constructor(readonly reason: string) {
    super('command_rejected', reason);
  }
}

export const isAnnalsError = (error: unknown): error is AnnalsError => error instanceof AnnalsError;
