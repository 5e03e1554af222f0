#!/usr/bin/env node
/** The `annals` command: `serve` runs the server; `append`, `read`, `tail` and `stats` talk to one. */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { AnnalsError } from '../store/errors.js';
import { appendCommand } from './append.js';
import { readCommand } from './read.js';
import { serveCommand } from './serve.js';
import { statsCommand } from './stats.js';
import { tailCommand } from './tail.js';

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

const program = new Command('annals')
  .description('An event store for microservices: run the server, or append, read and follow events on one.')
  .version(version)
  .addCommand(serveCommand(version))
  .addCommand(appendCommand())
  .addCommand(readCommand())
  .addCommand(tailCommand())
  .addCommand(statsCommand());

try {
  await program.parseAsync();
} catch (error) {
  // One line a person can act on; the server logs the details of its own failures.
  const what = error instanceof AnnalsError ? `error ${error.code}` : 'error';
  process.stderr.write(`${what}: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
