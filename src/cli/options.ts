/** What the client commands share: where the server is, which token to use, and how they end. */
import { Command } from 'commander';
import { connect } from '../client/index.js';
import Table from 'cli-table3';
import colors from 'picocolors';
import { AnnalsError, InvalidArgumentError } from '../store/errors.js';
import type { EventStore } from '../store/event-store.js';
import type { AllFilter } from '../store/model.js';

export interface ConnectionOptions {
  url: string;
  token?: string;
  json?: boolean;
}

/** A command that talks to a server: `--url` and `--token`, with their environment fallbacks, and `--json`. */
export const clientCommand = (name: string, description: string) =>
  new Command(name)
    .description(description)
    .option('--url <url>', 'the Annals server (env ANNALS_URL)', process.env.ANNALS_URL ?? 'http://127.0.0.1:2113')
    .option('--token <token>', 'a bearer token (env ANNALS_TOKEN)', process.env.ANNALS_TOKEN)
    .option('--json', 'print JSON lines even on a terminal (the default when the output is piped)');

/** What to do about a failure, added to its message: the flag or variable that mends it. */
export const hintFor = (error: unknown, url: string): string | undefined => {
  if (!(error instanceof AnnalsError)) return undefined;
  if (error.code === 'unauthenticated') return 'give a token with --token or ANNALS_TOKEN';
  if (error.code === 'unavailable' && error.message.startsWith('cannot reach'))
    return `is the server running at ${url}? set --url or ANNALS_URL`;
  return undefined;
};

/** Runs `work` with a client and closes it; a failure says which flag or variable would mend it. */
export const withClient = async ({ url, token }: ConnectionOptions, work: (store: EventStore) => Promise<void>) => {
  const store = connect(url, { token });
  try {
    await work(store);
  } catch (error) {
    const hint = hintFor(error, url);
    if (hint !== undefined && error instanceof Error) error.message = `${error.message} (${hint})`;
    throw error;
  } finally {
    await store.close();
  }
};

/** Tables for people on a terminal; JSON lines for pipes, or with `--json`. */
const forPeople = (options: { json?: boolean }): boolean => options.json !== true && process.stdout.isTTY === true;

/** Prints rows as a table (on a terminal) or as JSON lines. */
export const printRows = (options: { json?: boolean }, columns: string[], rows: Record<string, unknown>[]): void => {
  if (!forPeople(options)) {
    for (const row of rows) printLine(row);
    return;
  }
  const table = new Table({ head: columns.map((column) => colors.bold(column)), style: { head: [], border: [] } });
  for (const row of rows)
    table.push(
      columns.map((column) =>
        row[column] === undefined ? '' : typeof row[column] === 'object' ? JSON.stringify(row[column]) : String(row[column]),
      ),
    );
  process.stdout.write(`${table.toString()}\n`);
  if (rows.length === 0) process.stderr.write(colors.dim('(none)\n'));
};

/** Filters apply to the global log only: on a stream they are refused, never ignored. */
export const refuseFiltersOnStream = (
  stream: string,
  options: { types?: string; streams?: string; category?: string; includeSystem?: boolean },
): void => {
  const given = (['types', 'streams', 'category', 'includeSystem'] as const).filter((key) => options[key] !== undefined);
  if (stream !== allStream && given.length > 0) {
    const flag = given[0] === 'includeSystem' ? 'include-system' : given[0];
    throw new InvalidArgumentError(
      `--${flag} filters ${allStream}; a stream is read whole (give ${allStream} as the stream to filter the global log)`,
    );
  }
};

export const filterOptions = (command: Command) =>
  command
    .option('--types <types>', 'only events of these types (comma-separated)')
    .option('--streams <prefixes>', 'only streams starting with these prefixes (comma-separated)')
    .option('--category <category>', 'only streams of this category')
    .option('--include-system', 'also system events ($$<stream>: $metadata, $deleted)');

export const filterOf = (options: {
  types?: string;
  streams?: string;
  category?: string;
  includeSystem?: boolean;
}): AllFilter | undefined => {
  const filter: AllFilter = {};
  if (options.types !== undefined) filter.types = options.types.split(',').map((type) => type.trim());
  if (options.streams !== undefined) filter.streams = options.streams.split(',').map((prefix) => prefix.trim());
  if (options.category !== undefined) filter.category = options.category;
  if (options.includeSystem === true) filter.includeSystem = true;
  return Object.keys(filter).length === 0 ? undefined : filter;
};

/** `--from` of a stream (a revision) or of `$all` (a position), or `start` / `end`. */
export function fromOf(from: string | undefined, all: true): bigint | 'start' | 'end' | undefined;
export function fromOf(from: string | undefined, all: false): number | 'start' | 'end' | undefined;
export function fromOf(from: string | undefined, all: boolean) {
  if (from === undefined || from === 'start' || from === 'end') return from;
  if (!/^[0-9]{1,19}$/.test(from)) throw new InvalidArgumentError(`--from must be ${all ? 'a position' : 'a revision'}, start or end`);
  return all ? BigInt(from) : Number(from);
}

export const allStream = '$all';

/** A count given on the command line: a positive integer, or refused naming the flag. */
export const countOf = (flag: string, value: string | undefined): number | undefined => {
  if (value === undefined) return undefined;
  if (!/^[1-9][0-9]{0,15}$/.test(value)) throw new InvalidArgumentError(`${flag} is '${value}'; allowed: a positive integer`);
  return Number(value);
};

export const printLine = (value: unknown): void => {
  process.stdout.write(`${JSON.stringify(value)}\n`);
};
