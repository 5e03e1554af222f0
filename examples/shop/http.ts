/** What every shop service answers errors with: problem+json (RFC 9457) with a `code`, never a stack trace. */
import { CommandRejectedError } from 'annals';
import type { FastifyInstance, FastifyReply } from 'fastify';

export const sendProblem = (reply: FastifyReply, status: number, code: string, detail: string) =>
  reply.code(status).type('application/problem+json').send({ type: 'about:blank', title: code, status, code, detail });

/** Refusals of the domain are 422, validation 400, a store out of reach 503; the rest 500 without details. */
export const answerProblems = (app: FastifyInstance) => {
  app.setErrorHandler((error, request, reply) => {
    if (error instanceof CommandRejectedError) return sendProblem(reply, 422, 'command_rejected', error.message);
    if ((error as { validation?: unknown }).validation !== undefined)
      return sendProblem(reply, 400, 'invalid_argument', (error as Error).message);
    const code = (error as { code?: unknown }).code;
    if (code === 'unavailable') return sendProblem(reply, 503, 'unavailable', 'the event store is out of reach; try again shortly');
    request.log.error({ err: error }, 'request failed');
    return sendProblem(reply, 500, 'internal', 'the service failed; the log has the details');
  });
  app.setNotFoundHandler((request, reply) => sendProblem(reply, 404, 'not_found', `no route ${request.method} ${request.url}`));
};
