/**
 * Every error leaves the server as `application/problem+json` with a stable `code`. Errors of the store
 * keep their code; Fastify's own 4xx (bad JSON, schema violations, oversized bodies) become
 * `invalid_argument` or `payload_too_large`; anything else is a bug: logged whole, answered without detail.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { AnnalsError, StreamDeletedError, WrongExpectedRevisionError, type ErrorCode } from '../store/errors.js';
import { problemType, type ProblemJson } from '../protocol/wire.js';

/** Codes of the HTTP API beside the store's: a read of an absent stream, and a bug. */
export type ProblemCode = ErrorCode | 'stream_not_found' | 'internal';

const statusOfCode: Record<ProblemCode, number> = {
  invalid_argument: 400,
  unauthenticated: 401,
  access_denied: 403,
  not_found: 404,
  stream_not_found: 404,
  wrong_expected_revision: 409,
  conflict: 409,
  stream_deleted: 410,
  payload_too_large: 413,
  internal: 500,
  unavailable: 503,
};

const titleOf = (code: string) => code.replaceAll('_', ' ');

export const problem = (code: ProblemCode, detail: string, status = statusOfCode[code]): ProblemJson => ({
  type: `urn:annals:problem:${code}`,
  title: titleOf(code),
  status,
  detail,
  code,
});

/** A schema violation in one sentence: a union names its allowed forms instead of failing each branch. */
const describeViolation = (error: FastifyError): string => {
  const union = error.validation?.find((item) => item.keyword === 'anyOf');
  const forms = (union as { parentSchema?: { description?: string } } | undefined)?.parentSchema?.description;
  if (union === undefined || forms === undefined) return error.message;
  return `${error.validationContext ?? ''}${union.instancePath} must be ${forms}`;
};

const fromFastify = (error: FastifyError): ProblemJson | undefined => {
  if (error.validation) return problem('invalid_argument', describeViolation(error));
  const status = error.statusCode ?? 500;
  if (status === 413) return problem('payload_too_large', error.message);
  if (status >= 400 && status < 500) return problem('invalid_argument', error.message, status);
  return undefined;
};

/** The problem that answers `error`; `undefined` when it is a bug. */
export const problemOf = (error: unknown): ProblemJson | undefined => {
  if (error instanceof WrongExpectedRevisionError) {
    return { ...problem(error.code, error.message), stream: error.stream, expected: error.expected, actual: error.actual };
  }
  if (error instanceof StreamDeletedError) return { ...problem(error.code, error.message), stream: error.stream };
  if (error instanceof AnnalsError) return problem(error.code, error.message);
  if (error instanceof Error && 'statusCode' in error) return fromFastify(error as FastifyError);
  return undefined;
};

const problemCodes = new WeakMap<FastifyReply, string>();

/** The code of the problem a reply sent, if it sent one. */
export const problemCodeOf = (reply: FastifyReply): string | undefined => problemCodes.get(reply);

export const sendProblem = (reply: FastifyReply, body: ProblemJson) => {
  problemCodes.set(reply, body.code);
  if (body.code === 'unauthenticated') reply.header('www-authenticate', 'Bearer');
  return reply.code(body.status).type(problemType).send(body);
};

export const errorHandler = (error: unknown, request: FastifyRequest, reply: FastifyReply) => {
  const body = problemOf(error);
  if (body !== undefined) {
    if (body.status >= 500) request.log.warn({ code: body.code }, body.detail);
    return sendProblem(reply, body);
  }
  request.log.error({ err: error }, 'request failed');
  return sendProblem(reply, problem('internal', `internal error; the server log has the details of request ${request.id}`));
};

export const notFoundHandler = (request: FastifyRequest, reply: FastifyReply) =>
  sendProblem(reply, problem('not_found', `no route ${request.method} ${request.url.split('?')[0]}`));
