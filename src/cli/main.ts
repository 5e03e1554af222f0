#!/usr/bin/env node
/** The `annals` command: `serve` runs the server, `tokens` makes tokens for it, and the rest talk to one. */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { AnnalsError } from '../store/errors.js';
const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

/**
 * Each command by name, loaded when it runs: a command imports only what it needs (`annals read` no
 * server, `annals serve` no client), which halves a command's start. Listed in the order help shows them.
 */
const commands: Record<string, () => Promise<Command>> = {
  serve: async () => (await import('./serve.js')).serveCommand(version),
  gateway: async () => (await import('./gateway.js')).gatewayCommand(),
  append: async () => (await import('./append.js')).appendCommand(),
  read: async () => (await import('./read.js')).readCommand(),
  tail: async () => (await import('./tail.js')).tailCommand(),
  stats: async () => (await import('./stats.js')).statsCommand(),
  streams: async () => (await import('./streams.js')).streamsCommand(),
  delete: async () => (await import('./delete.js')).deleteCommand(),
  metadata: async () => (await import('./metadata.js')).metadataCommand(),
  groups: async () => (await import('./groups.js')).groupsCommand(),
  projections: async () => (await import('./projections.js')).projectionsCommand(),
  replay: async () => (await import('./replay.js')).replayCommand(),
  promote: async () => (await import('./promote.js')).promoteCommand(),
  backup: async () => (await import('./backup/backup-command.js')).backupCommand(),
  restore: async () => (await import('./backup/restore-command.js')).restoreCommand(),
  export: async () => (await import('./export.js')).exportCommand(),
  import: async () => (await import('./import.js')).importCommand(),
  copy: async () => (await import('./copy.js')).copyCommand(),
  tokens: async () => (await import('./tokens.js')).tokensCommand(),
};

const program = new Command('annals')
  .description('An event store for microservices: run the server, or append, read and follow events on one.')
  .version(version);
// A command named first loads alone; anything else (`--help`, `help read`, a typo) needs them all.
const named = process.argv[2];
const wanted = named !== undefined && Object.hasOwn(commands, named) ? [named] : Object.keys(commands);
for (const name of wanted) program.addCommand(await commands[name]!());

// `annals read '$all' | head -1` closes the pipe early: that ends the command quietly, not with a trace.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

try {
  await program.parseAsync();
} catch (error) {
  // One line a person can act on; the server logs the details of its own failures.
  const what = error instanceof AnnalsError ? `error ${error.code}` : 'error';
  process.stderr.write(`${what}: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
