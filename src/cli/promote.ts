import type { IdentityJson } from '../protocol/wire.js';
import { createTransport } from '../client/transport.js';
import { clientCommand, printLine, type ConnectionOptions } from './options.js';

/** `annals promote`: the operator's switch that turns a replica into a primary (DESIGN.md section 11). */
export const promoteCommand = () =>
  clientCommand(
    'promote',
    'promote the replica at --url: it stops following its primary, starts a new epoch and takes writes (restart it without --replica-of afterwards)',
  ).action(async ({ url, token }: ConnectionOptions) => {
    const transport = createTransport(url, { token });
    try {
      printLine(await transport.call<IdentityJson>({ method: 'POST', path: '/replica/promote' }));
    } finally {
      await transport.close();
    }
  });
