/**
 * The server side of the HTTP benchmark, in a process of its own so that it and the load generator each
 * get a core, as on real machines. `annals <file> <token>` serves the store on a SQLite file with
 * authentication on, `annals-postgres <schema> <token>` on a PostgreSQL schema; `bare <ndjson-line-file> <count>` serves the same routes doing no work (the HTTP
 * limit): appends answer a fixed result, `$all` streams a given line `count` times, `GET /noop` answers
 * `{}` (the gateway benchmark's upstream) and `GET /health/ready` says ready. Prints its URL.
 */
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import Fastify, { type FastifyInstance } from 'fastify';
import { createAuthenticator } from '../../src/auth/tokens.js';
import { createServer } from '../../src/server/server.js';
import { openEventStore } from '../../src/engines/open.js';
import { postgresTestUrl } from '../../src/engines/postgres/testing/test-database.js';
import type { EventStore } from '../../src/store/event-store.js';

const [mode, source, argument] = process.argv.slice(2) as ['annals' | 'annals-postgres' | 'bare', string, string];

const bare = (line: string, count: number): FastifyInstance => {
  const app = Fastify();
  app.post('/streams/:stream', async () => ({ revision: 0, position: '1' }));
  app.get('/noop', async () => ({}));
  app.get('/health/ready', async () => ({ status: 'ready' }));
  app.get('/all', async (_request, reply) => {
    async function* lines() {
      const chunk = line.repeat(500);
      for (let sent = 0; sent < count; sent += 500) yield sent + 500 <= count ? chunk : line.repeat(count - sent);
    }
    return reply.type('application/x-ndjson').send(Readable.from(lines()));
  });
  return app;
};

const annals = async (store: EventStore) =>
  createServer({ store, authenticator: createAuthenticator([{ name: 'bench', role: 'admin', token: argument }]) });

const app =
  mode === 'annals'
    ? await annals(await openEventStore({ engine: 'sqlite', path: source, durability: 'fsync' }))
    : mode === 'annals-postgres'
      ? await annals(await openEventStore({ engine: 'postgres', url: postgresTestUrl(), schema: source }))
      : bare(readFileSync(source, 'utf8'), Number(argument));
await app.listen({ host: '127.0.0.1', port: 0 });
const address = app.server.address();
process.stdout.write(`http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}\n`);
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
