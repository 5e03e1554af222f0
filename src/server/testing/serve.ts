/** A server on loopback for tests, and a client of it whose `close` closes the server and its store too. */
import { after, before } from 'node:test';
import { connect } from '../../client/connect.js';
import { openEventStore } from '../../engines/open.js';
import type { EventStore } from '../../store/event-store.js';
import type { FastifyInstance } from 'fastify';
import type { Authenticator } from '../../auth/tokens.js';
import { createServer, type ServerOptions } from '../server.js';

/** Listens on loopback (port 0: any free port) and returns the server's URL. */
export const listenForTest = async (server: FastifyInstance, port = 0): Promise<string> => {
  await server.listen({ host: '127.0.0.1', port });
  const address = server.server.address();
  return `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : port}`;
};

export const serveForTest = async (
  store: EventStore,
  options: { authenticator?: Authenticator; token?: string } & Partial<ServerOptions> = {},
) => {
  const server = await createServer({ store, authenticator: undefined, ...options });
  const url = await listenForTest(server);
  const client = connect(url, { token: options.token });
  const closeClient = client.close.bind(client);
  client.close = async () => {
    await closeClient();
    await server.close();
  };
  return { server, url, client };
};

/**
 * A server for the tests of one suite: its store opened (in memory unless `openStore` says otherwise) and
 * served before them, both closed after. The fields are there once the suite's `before` hooks have run.
 */
export const serveForSuite = (
  options: { authenticator?: Authenticator; token?: string } & Partial<ServerOptions> = {},
  openStore: () => Promise<EventStore> = () => openEventStore({ engine: 'memory' }),
) => {
  const suite = {} as { store: EventStore; url: string };
  let close = async () => {};
  before(async () => {
    suite.store = await openStore();
    const served = await serveForTest(suite.store, options);
    suite.url = served.url;
    close = () => served.client.close();
  });
  after(() => close());
  return suite;
};
