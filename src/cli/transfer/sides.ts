/**
 * The two ends of a transfer: an Annals server (`--url`, `--token`, as the client commands take them) or a
 * store opened here, on its engine (`--engine sqlite --data DIR`, `--engine postgres --pg-url URL
 * [--pg-schema S]`, as `annals serve` takes them). `annals copy` has one of each set per side, prefixed
 * `--source-` and `--target-`.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { connect } from '../../client/index.js';
import { openEventStore } from '../../engines/open.js';
import { AnnalsError, InvalidArgumentError, UnavailableError } from '../../store/errors.js';
import type { EventStore } from '../../store/event-store.js';
import { hintFor } from '../options.js';

export type Role = 'source' | 'target';

interface SideOptions {
  url?: string;
  token?: string;
  engine?: 'sqlite' | 'postgres';
  data: string;
  pgUrl?: string;
  pgSchema: string;
}

export interface Side {
  store: EventStore;
  /** Where it is, for messages: a URL, a file, a PostgreSQL schema. */
  where: string;
  /** Adds what would mend a failure of this side (a flag to set) to its message. */
  explain(error: unknown): void;
}

/** The flags of one side; `prefix` is '' for export and import, `source-` or `target-` for copy. */
export const addSideOptions = (command: Command, prefix: '' | 'source-' | 'target-', role: Role): Command => {
  const env = (name: string) => `ANNALS_${prefix === '' ? '' : prefix.slice(0, -1).toUpperCase() + '_'}${name}`;
  const url = new Option(`--${prefix}url <url>`, `the ${role} server (env ${env('URL')})`);
  if (prefix === '') url.default(process.env.ANNALS_URL ?? 'http://127.0.0.1:2113');
  else url.env(env('URL'));
  return command
    .addOption(url)
    .addOption(new Option(`--${prefix}token <token>`, `a bearer token of the ${role} server, admin for import`).env(env('TOKEN')))
    .addOption(
      new Option(`--${prefix}engine <engine>`, `open the ${role} store here instead of through a server`).choices(['sqlite', 'postgres']),
    )
    .addOption(
      new Option(`--${prefix}data <dir>`, `with --${prefix}engine sqlite: the data directory, as annals serve --data`).default('./data'),
    )
    .addOption(new Option(`--${prefix}pg-url <url>`, `with --${prefix}engine postgres: the PostgreSQL URL`))
    .addOption(new Option(`--${prefix}pg-schema <name>`, `with --${prefix}engine postgres: the schema of the store`).default('annals'));
};

const camel = (prefix: string, name: string) => (prefix === '' ? name : `${prefix.slice(0, -1)}${name[0]!.toUpperCase()}${name.slice(1)}`);

/** The options of one side, out of a command's options. */
const sideOf = (options: Record<string, unknown>, prefix: string): SideOptions => {
  const get = (name: string) => options[camel(prefix, name)] as string | undefined;
  return {
    url: get('url'),
    token: get('token'),
    engine: get('engine') as SideOptions['engine'],
    data: get('data')!,
    pgUrl: get('pgUrl'),
    pgSchema: get('pgSchema')!,
  };
};

const openLocal = async (side: SideOptions, prefix: string, role: Role): Promise<Side> => {
  const explain = () => undefined;
  if (side.engine === 'postgres') {
    if (side.pgUrl === undefined) throw new InvalidArgumentError(`--${prefix}engine postgres needs --${prefix}pg-url`);
    const host = URL.canParse(side.pgUrl) ? new URL(side.pgUrl).host : 'PostgreSQL';
    const store = await openEventStore({ engine: 'postgres', url: side.pgUrl, schema: side.pgSchema });
    return { store, where: `PostgreSQL ${host}, schema ${side.pgSchema}`, explain };
  }
  const path = resolve(join(side.data, 'annals.db'));
  if (role === 'source' && !existsSync(path)) {
    throw new InvalidArgumentError(`there is no SQLite store at ${path}; --${prefix}data is the directory annals serve --data was given`);
  }
  try {
    return { store: await openEventStore({ engine: 'sqlite', path }), where: path, explain };
  } catch (error) {
    if (error instanceof UnavailableError && error.message.includes('in use')) {
      error.message += `: a server holds its store for itself; stop it first, or go through it with --${prefix}url`;
    }
    throw error;
  }
};

/** Opens one side of a transfer, from the flags `addSideOptions` gave `command`. */
export const openSide = async (command: Command, prefix: '' | 'source-' | 'target-', role: Role): Promise<Side> => {
  const side = sideOf(command.opts(), prefix);
  if (side.engine !== undefined) {
    // `--url` has a default for export and import; only one given here (or in the environment) counts.
    const source = command.getOptionValueSource(camel(prefix, 'url'));
    if (source === 'cli' || source === 'env')
      throw new InvalidArgumentError(`give --${prefix}url (a server) or --${prefix}engine (a store opened here), not both`);
    return openLocal(side, prefix, role);
  }
  if (side.url === undefined) {
    throw new InvalidArgumentError(
      `give the ${role}: --${prefix}url (a server) or --${prefix}engine sqlite|postgres (a store opened here)`,
    );
  }
  const url = side.url;
  return {
    store: connect(url, { token: side.token }),
    where: url,
    explain(error) {
      const hint = error instanceof AnnalsError ? hintFor(error, url) : undefined;
      if (hint === undefined) return;
      const named = prefix === '' ? hint : hint.replaceAll('--', `--${prefix}`).replaceAll('ANNALS_', `ANNALS_${role.toUpperCase()}_`);
      (error as Error).message += ` (${role}: ${named})`;
    },
  };
};
