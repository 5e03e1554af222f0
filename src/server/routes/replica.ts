/** Promoting a replica (DESIGN.md section 11): the operator's switch, after its primary is lost for good. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { checkAccess } from '../../auth/access.js';
import { ConflictError } from '../../store/errors.js';
import type { RouteContext } from '../context.js';
import type { Replica } from '../replica.js';
import { Identity, Problem } from '../schemas.js';

export const replicaRoutes: FastifyPluginAsyncTypebox<RouteContext & { replica: Replica | undefined }> = async (app, { replica }) => {
  app.post(
    '/replica/promote',
    {
      config: { access: 'admin', whileReadOnly: true },
      schema: {
        summary: 'Promote this replica: stop following the primary, start a new epoch, take writes',
        description:
          'Cursors of the old epoch up to the new epoch start stay valid here. Restart the server without --replica-of afterwards, or it would try to follow again (and refuse: the epochs differ).',
        tags: ['operations'],
        response: { 200: Identity, '4xx': Problem, '5xx': Problem },
      },
    },
    async ({ principal }) => {
      checkAccess(principal, 'server');
      if (replica === undefined) throw new ConflictError('this server is not a replica');
      const identity = await replica.promote();
      return { ...identity, epochStart: String(identity.epochStart) };
    },
  );
};
