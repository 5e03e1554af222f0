/**
 * `annals serve`: opens the store, loads the tokens (creating an admin token on a first start), serves
 * HTTP, and shuts down cleanly on SIGINT or SIGTERM (a second signal exits at once).
 */
import { existsSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command, InvalidArgumentError as CommanderError, Option } from 'commander';
import { pino, type Logger } from 'pino';
import { createAuthenticator, loadTokens, type Authenticator } from '../auth/tokens.js';
import { createServer } from '../server/server.js';
import { openEventStore, type OpenOptions } from '../engines/open.js';
import { connect } from '../client/index.js';
import { closeOnSignals } from './shutdown.js';

interface ServeOptions {
  port: string;
  host: string;
  data: string;
  engine: 'sqlite' | 'postgres' | 'memory';
  pgUrl?: string;
  pgSchema?: string;
  durability: 'fsync' | 'os';
  tokens?: string;
  maxSize?: number;
  cors?: string[];
  readOnly?: boolean;
  replicaOf?: string;
  token?: string;
  alertWebhook?: string;
  alertInterval: number;
  dev?: boolean;
  logLevel: string;
}

const parseServerUrl = (text: string): string => {
  if (!URL.canParse(text) || !['http:', 'https:'].includes(new URL(text).protocol)) {
    throw new CommanderError(`'${text}' is not a server URL: give http:// or https://, e.g. http://primary:2113`);
  }
  return text;
};

const parseWebhookUrl = (text: string): string => {
  if (!/^https?:\/\/[^\s/]+(\/\S*)?$/.test(text))
    throw new CommanderError(`'${text}' is not a webhook URL: give an http:// or https:// URL`);
  return text;
};

const loopback = new Set(['127.0.0.1', '::1', 'localhost']);

const sizeUnits: Record<string, number> = {
  B: 1,
  KB: 1e3,
  MB: 1e6,
  GB: 1e9,
  TB: 1e12,
  KIB: 2 ** 10,
  MIB: 2 ** 20,
  GIB: 2 ** 30,
  TIB: 2 ** 40,
};

/** Origins as browsers send them: scheme, host and port, no path. */
const parseOrigins = (text: string): string[] =>
  text.split(',').map((origin) => {
    const trimmed = origin.trim();
    if (!URL.canParse(trimmed) || new URL(trimmed).origin !== trimmed) {
      throw new CommanderError(`'${trimmed}' is not an origin: give scheme, host and port, e.g. https://admin.example.com`);
    }
    return trimmed;
  });

/** A size in bytes, or a number with a unit: `500MB`, `10GiB`, `1.5GB`. */
const parseSize = (text: string): number => {
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text.trim());
  const unit = match?.[2] === '' ? 1 : sizeUnits[match?.[2]?.toUpperCase() ?? ''];
  const bytes = match === null || unit === undefined ? Number.NaN : Math.floor(Number(match[1]) * unit);
  if (!(bytes >= 1)) throw new CommanderError(`'${text}' is not a size: give bytes, or a number with KB, MB, GB, TB, KiB, MiB, GiB or TiB`);
  return bytes;
};

/** Where a store is, as `serve` and `restore` are told it. */
export type StoreLocation = Pick<ServeOptions, 'data' | 'engine' | 'pgUrl' | 'pgSchema' | 'durability' | 'maxSize'>;

export const storeOptions = (options: StoreLocation): { open: OpenOptions; where: string } => {
  if (options.maxSize !== undefined && options.engine !== 'sqlite') {
    throw new Error(`--max-size is a disk budget for the SQLite file; the ${options.engine} engine does not take one`);
  }
  switch (options.engine) {
    case 'postgres': {
      if (options.pgUrl === undefined) throw new Error('--engine postgres needs --pg-url (or ANNALS_PG_URL)');
      const where = `${URL.canParse(options.pgUrl) ? new URL(options.pgUrl).host : 'PostgreSQL'}, schema ${options.pgSchema ?? 'annals'}`;
      return { open: { engine: 'postgres', url: options.pgUrl, schema: options.pgSchema }, where };
    }
    case 'memory':
      return { open: { engine: 'memory' }, where: 'in memory, gone when the server stops' };
    default: {
      const path = join(options.data, 'annals.db');
      const budget = options.maxSize === undefined ? '' : `, at most ${options.maxSize.toLocaleString('en-US')} bytes`;
      return {
        open: { engine: 'sqlite', path, durability: options.durability, maxSizeBytes: options.maxSize },
        where: `${path}, durability ${options.durability}${budget}`,
      };
    }
  }
};

const authenticatorOf = (options: ServeOptions, log: Logger): Authenticator | undefined => {
  if (options.dev) {
    log.warn('authentication is OFF (--dev): every caller is an admin; never expose this server');
    return undefined;
  }
  const { entries, created } = loadTokens({ file: options.tokens, env: process.env.ANNALS_TOKENS, dataDir: options.data });
  if (created !== undefined) log.warn({ path: resolve(created) }, `no token was configured: created an admin token in ${resolve(created)}`);
  return createAuthenticator(entries);
};

const serve = async (options: ServeOptions, version: string) => {
  // Readable lines for a person at a terminal, JSON lines for everything that collects logs.
  const log = pino(
    { level: options.logLevel, base: { service: 'annals' } },
    process.stdout.isTTY ? pino.transport({ target: 'pino-pretty' }) : undefined,
  );
  const { open, where } = storeOptions(options);
  // A server that fails to start leaves nothing behind: what it created on the way is removed.
  const dataDir = resolve(options.data);
  const inData = (...names: string[]) => names.map((name) => join(dataDir, name));
  const created = existsSync(dataDir)
    ? [
        ...(existsSync(join(dataDir, 'annals.db')) ? [] : inData('annals.db', 'annals.db-wal', 'annals.db-shm')),
        ...(existsSync(join(dataDir, 'tokens.json')) ? [] : inData('tokens.json')),
      ]
    : [dataDir];
  const removeWhatWasCreated = () => {
    for (const path of created) rmSync(path, { recursive: true, force: true });
  };
  let server: Awaited<ReturnType<typeof createServer>>;
  try {
    const authenticator = authenticatorOf(options, log);
    if (authenticator === undefined && !loopback.has(options.host))
      log.warn({ host: options.host }, 'authentication is off on a non-loopback address');
    if (options.replicaOf !== undefined && options.readOnly === true)
      throw new Error('--read-only and --replica-of exclude each other: a replica is read-only');
    if (options.replicaOf !== undefined && !options.token) {
      throw new Error('--replica-of needs --token (or ANNALS_TOKEN): an admin token of the primary for every stream');
    }
    const store = await openEventStore(open);
    server = await createServer({
      store,
      authenticator,
      logger: log,
      version,
      corsOrigins: options.cors,
      readOnly: options.readOnly === true,
      ...(options.alertWebhook === undefined
        ? {}
        : { alertWebhook: { url: options.alertWebhook, intervalMs: options.alertInterval * 1000 } }),
      ...(options.replicaOf === undefined
        ? {}
        : { replicaOf: { source: connect(options.replicaOf, { token: options.token }), primary: options.replicaOf } }),
    });
  } catch (error) {
    removeWhatWasCreated();
    throw error;
  }
  closeOnSignals(() => server.close(), log, 'finishing requests in flight, then closing the store');
  try {
    await server.listen({ port: Number(options.port), host: options.host });
  } catch (error) {
    await server.close();
    removeWhatWasCreated();
    throw error;
  }
  const address = server.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;
  const url = `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`;
  const replicaOf = options.replicaOf === undefined ? '' : `, replica of ${options.replicaOf}`;
  log.info({ url, engine: options.engine, store: where, replicaOf: options.replicaOf }, 'listening');
  process.stderr.write(`Annals ${version} listening on ${url} (engine ${options.engine}: ${where}${replicaOf})\n`);
};

const parseSeconds = (text: string): number => {
  if (!/^\d{1,5}(\.\d+)?$/.test(text) || Number(text) <= 0)
    throw new CommanderError(`'${text}' is not a number of seconds: give e.g. 15 or 0.5`);
  return Number(text);
};

/** The flags that say where a store is, shared by `serve` and `restore`. */
export const withStoreLocation = (command: Command): Command =>
  command
    .addOption(
      new Option('--data <dir>', 'data directory: the SQLite file and the first-start tokens').env('ANNALS_DATA').default('./data'),
    )
    .addOption(
      new Option('--engine <engine>', 'storage engine').choices(['sqlite', 'postgres', 'memory']).env('ANNALS_ENGINE').default('sqlite'),
    )
    .addOption(new Option('--pg-url <url>', 'PostgreSQL connection URL').env('ANNALS_PG_URL'))
    .addOption(new Option('--pg-schema <name>', 'PostgreSQL schema of the store').env('ANNALS_PG_SCHEMA').default('annals'))
    .addOption(
      new Option('--durability <mode>', 'SQLite: fsync (survives power loss) or os (survives a process crash)')
        .choices(['fsync', 'os'])
        .env('ANNALS_DURABILITY')
        .default('fsync'),
    );

/** A port number, 0 for any free one. */
const parsePort = (text: string): string => {
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65535) throw new CommanderError(`'${text}' is not a port: give 0 to 65535`);
  return text;
};

export const serveCommand = (version: string) =>
  withStoreLocation(
    new Command('serve')
      .description('run the Annals server')
      .addOption(
        new Option('--port <port>', 'port to listen on (0: any free port)').env('ANNALS_PORT').default('2113').argParser(parsePort),
      )
      .addOption(new Option('--host <host>', 'address to bind; loopback unless told otherwise').env('ANNALS_HOST').default('127.0.0.1')),
  )
    .option('--tokens <file>', 'token file (JSON); tokens may also come as the same JSON in ANNALS_TOKENS; default <data>/tokens.json')
    .addOption(
      new Option(
        '--max-size <size>',
        'SQLite: a disk budget for the file (bytes, or e.g. 500MB, 10GiB); writes beyond it fail with 503 unavailable',
      )
        .env('ANNALS_MAX_SIZE')
        .argParser(parseSize),
    )
    .addOption(
      new Option('--cors <origins>', 'origins whose browser pages may call the API, comma-separated, e.g. https://admin.example.com')
        .env('ANNALS_CORS')
        .argParser(parseOrigins),
    )
    .addOption(
      new Option('--read-only', 'refuse every write (503 unavailable, reason flag); reads, subscriptions and health go on').env(
        'ANNALS_READ_ONLY',
      ),
    )
    .addOption(
      new Option(
        '--replica-of <url>',
        'follow this primary as a read-only replica: reads and subscriptions here, writes refused (503, reason replica); promote with annals promote',
      )
        .env('ANNALS_REPLICA_OF')
        .argParser(parseServerUrl),
    )
    .addOption(new Option('--token <token>', 'with --replica-of: an admin token of the primary, for every stream').env('ANNALS_TOKEN'))
    .addOption(
      new Option(
        '--alert-webhook <url>',
        'POST alert conditions (read-only, group lag and parked events, projections failed or silent) as JSON to this URL',
      )
        .env('ANNALS_ALERT_WEBHOOK')
        .argParser(parseWebhookUrl),
    )
    .addOption(
      new Option('--alert-interval <seconds>', 'with --alert-webhook: how often the conditions are checked')
        .env('ANNALS_ALERT_INTERVAL')
        .default(15)
        .argParser(parseSeconds),
    )
    .option('--dev', 'turn authentication off (every caller is an admin)')
    .addOption(
      new Option('--log-level <level>', 'log level')
        .choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace'])
        .env('ANNALS_LOG_LEVEL')
        .default('info'),
    )
    .addHelpText(
      'after',
      `
Logs are JSON lines (pino), readable ones on a terminal. Examples:
  annals serve                                   # SQLite in ./data, on http://127.0.0.1:2113
  annals serve --engine postgres --pg-url postgres://app@db:5432/app --host 0.0.0.0
  annals serve --port 2114 --data ./replica --replica-of http://127.0.0.1:2113 --token $ADMIN_TOKEN`,
    )
    .action((options: ServeOptions) => serve(options, version));
