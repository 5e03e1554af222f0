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
  | 'conflict';

/** Every error Annals raises on purpose carries a stable `code`; anything else is a bug. */
export class AnnalsError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
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

export class UnavailableError extends AnnalsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('unavailable', message);
    if (options?.cause !== undefined) this.cause = options.cause;
  }
}

export class ConflictError extends AnnalsError {
  constructor(message: string) {
    super('conflict', message);
  }
}

export const isAnnalsError = (error: unknown): error is AnnalsError => error instanceof AnnalsError;
