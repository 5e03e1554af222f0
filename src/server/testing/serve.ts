/** A server on loopback for tests, and a client of it whose `close` closes the server and its store too. */
import { connect } from '../../client/connect.js';
import type { EventStore } from '../../store/event-store.js';
import type { Authenticator } from '../auth/tokens.js';
import { createServer, type ServerOptions } from '../server.js';

export const serveForTest = async (
  store: EventStore,
  options: { authenticator?: Authenticator; token?: string } & Partial<ServerOptions> = {},
) => {
  const server = await createServer({ store, authenticator: undefined, ...options });
  await server.listen({ host: '127.0.0.1', port: 0 });
  const address = server.server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
  const client = connect(url, { token: options.token });
  const closeClient = client.close.bind(client);
  client.close = async () => {
    await closeClient();
    await server.close();
  };
  return { server, url, client };
};
