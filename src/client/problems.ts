/** A problem+json answer of the server turned back into the error the embedded store would have thrown. */
import {
  AccessDeniedError,
  AnnalsError,
  CommandRejectedError,
  ConflictError,
  InvalidArgumentError,
  NotFoundError,
  PayloadTooLargeError,
  StreamDeletedError,
  UnauthenticatedError,
  UnavailableError,
  readOnlyReasons,
  WrongExpectedRevisionError,
  type ActualRevision,
} from '../store/errors.js';
import type { ExpectedRevision } from '../store/model.js';
import type { ProblemJson } from '../protocol/wire.js';

/** A read of a stream that does not exist: the embedded store answers it with no events, and so does the client. */
export class StreamNotFoundError extends NotFoundError {}

const construct = (problem: ProblemJson): Error => {
  switch (problem.code) {
    case 'wrong_expected_revision':
      return new WrongExpectedRevisionError(problem.stream ?? '', problem.expected as ExpectedRevision, problem.actual as ActualRevision);
    case 'stream_deleted':
      return new StreamDeletedError(problem.stream ?? '');
    case 'invalid_argument':
      return new InvalidArgumentError(problem.detail);
    case 'payload_too_large':
      return new PayloadTooLargeError(problem.detail);
    case 'access_denied':
      return new AccessDeniedError(problem.detail);
    case 'unauthenticated':
      return new UnauthenticatedError(problem.detail);
    case 'stream_not_found':
      return new StreamNotFoundError(problem.detail);
    case 'not_found':
      return new NotFoundError(problem.detail);
    case 'unavailable':
      return new UnavailableError(problem.detail, { reason: readOnlyReasons.find((reason) => reason === problem.reason) });
    case 'conflict':
      return new ConflictError(problem.detail);
    case 'command_rejected':
      return new CommandRejectedError(problem.detail);
    default:
      return new Error(`the server failed (${problem.status} ${problem.code}): ${problem.detail}`);
  }
};

export const errorFromProblem = (problem: ProblemJson): Error => {
  const error = construct(problem);
  if (error instanceof AnnalsError) error.message = problem.detail;
  return error;
};

const isProblem = (value: unknown): value is ProblemJson =>
  typeof value === 'object' &&
  value !== null &&
  typeof (value as ProblemJson).code === 'string' &&
  typeof (value as ProblemJson).status === 'number';

/** The error of a failed response, whatever its body holds. */
export const errorFromResponse = (status: number, text: string): Error => {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (isProblem(body)) return errorFromProblem(body);
  if (status === 503 || status === 502 || status === 504) return new UnavailableError(`the server answered ${status}`);
  return new Error(`the server answered ${status}: ${text.slice(0, 200)}`);
};
