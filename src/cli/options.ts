/** What the client commands share: where the server is, which token to use, and how they end. */
import { Command } from 'commander';
import { connect } from '../client/index.js';
import { InvalidArgumentError } from '../store/errors.js';
import type { EventStore } from '../store/event-store.js';
import type { AllFilter } from '../store/model.js';

export interface ConnectionOptions {
  url: string;
  token?: string;
}

/** A command that talks to a server: `--url` and `--token`, with their environment fallbacks. */
export const clientCommand = (name: string, description: string) =>
  new Command(name)
    .description(description)
    .option('--url <url>', 'the Annals server (env ANNALS_URL)', process.env.ANNALS_URL ?? 'http://127.0.0.1:2113')
    .option('--token <token>', 'a bearer token (env ANNALS_TOKEN)', process.env.ANNALS_TOKEN);

/** Runs `work` with a client, closes it, and turns a failure into one line on stderr and exit code 1. */
export const withClient = async ({ url, token }: ConnectionOptions, work: (store: EventStore) => Promise<void>) => {
  const store = connect(url, { token });
  try {
    await work(store);
  } finally {
    await store.close();
  }
};

export const filterOptions = (command: Command) =>
  command
    .option('--types <types>', 'only events of these types (comma-separated)')
    .option('--streams <prefixes>', 'only streams starting with these prefixes (comma-separated)')
    .option('--category <category>', 'only streams of this category');

export const filterOf = (options: { types?: string; streams?: string; category?: string }): AllFilter | undefined => {
  const filter: AllFilter = {};
  if (options.types !== undefined) filter.types = options.types.split(',');
  if (options.streams !== undefined) filter.streams = options.streams.split(',');
  if (options.category !== undefined) filter.category = options.category;
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

export const printLine = (value: unknown): void => {
  process.stdout.write(`${JSON.stringify(value)}\n`);
};
