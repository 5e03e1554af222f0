/**
 * Every error leaves the server as `application/problem+json` with a stable `code`. Errors of the store
 * keep their code; Fastify's own 4xx (bad JSON, schema violations, oversized bodies) become
 * `invalid_argument` or `payload_too_large`; anything else is a bug: logged whole, answered without detail.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { AnnalsError, StreamDeletedError, UnavailableError, WrongExpectedRevisionError, type ErrorCode } from '../store/errors.js';
import { shown } from '../store/validate.js';
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
  command_rejected: 422,
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

/** What a schema violation is about: ajv's error, with `verbose` on so that it carries the data and schema. */
interface Violation {
  keyword: string;
  instancePath: string;
  params: Record<string, unknown>;
  data?: unknown;
  parentSchema?: Schema;
}

interface Schema {
  description?: string;
  type?: string;
  const?: unknown;
  enum?: unknown[];
  anyOf?: Schema[];
  format?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  properties?: Record<string, Schema>;
}

const oneOf = (forms: string[]) => (forms.length < 2 ? forms.join('') : `${forms.slice(0, -1).join(', ')} or ${forms.at(-1)}`);

const range = (min: number | undefined, max: number | undefined, unit: string) =>
  min !== undefined && max !== undefined
    ? ` of ${min} to ${max} ${unit}s`
    : min !== undefined
      ? ` of at least ${min} ${unit}${min === 1 ? '' : 's'}`
      : max !== undefined
        ? ` of at most ${max} ${unit}s`
        : '';

const formats: Record<string, string> = { uuid: 'a UUID' };

/** What a schema allows, in words: its description where it has one, else what its keywords say. */
const allowedBy = (schema: Schema): string => {
  if (schema.description !== undefined) return schema.description;
  if (schema.const !== undefined) return shown(schema.const);
  if (schema.enum !== undefined) return oneOf(schema.enum.map(shown));
  if (schema.anyOf !== undefined) return oneOf(schema.anyOf.map(allowedBy));
  if (schema.format !== undefined) return formats[schema.format] ?? `a ${schema.format}`;
  switch (schema.type) {
    case 'string':
      return `a string${range(schema.minLength, schema.maxLength, 'character')}`;
    case 'integer':
    case 'number': {
      const bounds =
        schema.minimum !== undefined && schema.maximum !== undefined
          ? ` from ${schema.minimum} to ${schema.maximum}`
          : schema.minimum !== undefined
            ? ` >= ${schema.minimum}`
            : schema.maximum !== undefined
              ? ` <= ${schema.maximum}`
              : '';
      return `${schema.type === 'integer' ? 'an integer' : 'a number'}${bounds}`;
    }
    case 'array':
      return `a list${range(schema.minItems, schema.maxItems, 'item')}`;
    case 'object':
      return 'an object';
    case 'boolean':
      return 'true or false';
    default:
      return 'any JSON value';
  }
};

const memberNames: Record<string, string> = { querystring: 'parameter', body: 'field', params: 'parameter', headers: 'header' };

/** `/events/0/type` as `.events[0].type`. */
const pathOf = (instancePath: string) =>
  instancePath
    .split('/')
    .slice(1)
    .map((segment) => segment.replaceAll('~1', '/').replaceAll('~0', '~'))
    .map((segment) => (/^\d+$/.test(segment) ? `[${segment}]` : `.${segment}`))
    .join('');

/**
 * A schema violation in one sentence that names the field, what was given and what is allowed. Ajv stops
 * at the first violation (allErrors is off), reporting the failed branches of a union before the union
 * itself: the last error is the one to describe.
 */
const describeViolation = (error: FastifyError): string => {
  const violation = error.validation?.at(-1) as Violation | undefined;
  const context = error.validationContext ?? 'request';
  if (violation?.parentSchema === undefined) return error.message;
  const field = `${context}${pathOf(violation.instancePath)}`;
  const schema = violation.parentSchema;
  if (violation.keyword === 'additionalProperties') {
    const allowed = Object.keys(schema.properties ?? {}).join(', ');
    return `${field} has unknown ${memberNames[context] ?? 'field'} '${String(violation.params.additionalProperty)}'; allowed: ${allowed}`;
  }
  if (violation.keyword === 'required') {
    const missing = String(violation.params.missingProperty);
    const property = schema.properties?.[missing];
    return `${field}.${missing} is missing${property === undefined ? '' : `; allowed: ${allowedBy(property)}`}`;
  }
  return `${field} is ${shown(violation.data)}; allowed: ${allowedBy(schema)}`;
};

/** Fastify's own refusals of a request's body, in the words of schema violations. */
const describeBodyRefusal = (error: FastifyError, request: FastifyRequest | undefined): string => {
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE' && request !== undefined) {
    return `body is larger than allowed; allowed: at most ${request.routeOptions.bodyLimit} bytes`;
  }
  if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' && request !== undefined) {
    return `content-type is ${shown(request.headers['content-type'])}; allowed: application/json`;
  }
  return error.message;
};

const fromFastify = (error: FastifyError, request: FastifyRequest | undefined): ProblemJson | undefined => {
  if (error.validation) return problem('invalid_argument', describeViolation(error));
  const status = error.statusCode ?? 500;
  if (status === 413) return problem('payload_too_large', describeBodyRefusal(error, request));
  if (status >= 400 && status < 500) return problem('invalid_argument', describeBodyRefusal(error, request), status);
  return undefined;
};

/** The problem that answers `error`; `undefined` when it is a bug. The request, where known, adds detail. */
export const problemOf = (error: unknown, request?: FastifyRequest): ProblemJson | undefined => {
  if (error instanceof WrongExpectedRevisionError) {
    return { ...problem(error.code, error.message), stream: error.stream, expected: error.expected, actual: error.actual };
  }
  if (error instanceof StreamDeletedError) return { ...problem(error.code, error.message), stream: error.stream };
  if (error instanceof UnavailableError && error.reason !== undefined)
    return { ...problem(error.code, error.message), reason: error.reason };
  if (error instanceof AnnalsError) return problem(error.code, error.message);
  if (error instanceof Error && 'statusCode' in error) return fromFastify(error as FastifyError, request);
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
  const body = problemOf(error, request);
  if (body !== undefined) {
    if (body.status >= 500) request.log.warn({ code: body.code }, body.detail);
    return sendProblem(reply, body);
  }
  request.log.error({ err: error }, 'request failed');
  return sendProblem(reply, problem('internal', `internal error; the server log has the details of request ${request.id}`));
};

export const notFoundHandler = (request: FastifyRequest, reply: FastifyReply) =>
  sendProblem(reply, problem('not_found', `no route ${request.method} ${request.url.split('?')[0]}`));
