/**
 * The gateway's problems beside the server's (src/server/problems.ts): `rate_limited` (429), `unavailable`
 * (503, no healthy upstream), `upstream_timeout` (504) and `bad_gateway` (502, an upstream broke off).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { problemOf, sendProblem } from '../server/problems.js';
import type { ProblemJson } from '../protocol/wire.js';

export type GatewayProblemCode = 'rate_limited' | 'unavailable' | 'upstream_timeout' | 'bad_gateway' | 'not_found' | 'internal';

const statusOf: Record<GatewayProblemCode, number> = {
  not_found: 404,
  rate_limited: 429,
  internal: 500,
  bad_gateway: 502,
  unavailable: 503,
  upstream_timeout: 504,
};

export const gatewayProblem = (code: GatewayProblemCode, detail: string): ProblemJson => ({
  type: `urn:annals:problem:${code}`,
  title: code.replaceAll('_', ' '),
  status: statusOf[code],
  detail,
  code,
});

/** An error that carries the problem answering it (thrown from hooks, e.g. the rate limiter). */
export class GatewayProblemError extends Error {
  readonly statusCode: number;
  constructor(readonly problem: ProblemJson) {
    super(problem.detail);
    this.statusCode = problem.status;
  }
}

export { sendProblem };

export const gatewayErrorHandler = (error: unknown, request: FastifyRequest, reply: FastifyReply) => {
  if (error instanceof GatewayProblemError) return sendProblem(reply, error.problem);
  const body = problemOf(error, request);
  if (body !== undefined) return sendProblem(reply, body);
  request.log.error({ err: error }, 'request failed');
  return sendProblem(reply, gatewayProblem('internal', `internal error; the gateway log has the details of request ${request.id}`));
};
