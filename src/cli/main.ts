#!/usr/bin/env node
/** The `annals` command: `serve` runs the server, `tokens` makes tokens for it, and the rest talk to one. */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { AnnalsError } from '../store/errors.js';
import { appendCommand } from './append.js';
import { copyCommand } from './copy.js';
import { exportCommand } from './export.js';
import { importCommand } from './import.js';
import { readCommand } from './read.js';
import { serveCommand } from './serve.js';
import { statsCommand } from './stats.js';
import { tailCommand } from './tail.js';
import { deleteCommand } from './delete.js';
import { gatewayCommand } from './gateway.js';
import { groupsCommand } from './groups.js';
import { metadataCommand } from './metadata.js';
import { projectionsCommand } from './projections.js';
import { promoteCommand } from './promote.js';
import { replayCommand } from './replay.js';
import { streamsCommand } from './streams.js';
import { tokensCommand } from './tokens.js';
import { backupCommand } from './backup/backup-command.js';
import { restoreCommand } from './backup/restore-command.js';

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

const program = new Command('annals')
  .description('An event store for microservices: run the server, or append, read and follow events on one.')
  .version(version)
  .addCommand(serveCommand(version))
  .addCommand(gatewayCommand())
  .addCommand(appendCommand())
  .addCommand(readCommand())
  .addCommand(tailCommand())
  .addCommand(statsCommand())
  .addCommand(streamsCommand())
  .addCommand(deleteCommand())
  .addCommand(metadataCommand())
  .addCommand(groupsCommand())
  .addCommand(projectionsCommand())
  .addCommand(replayCommand())
  .addCommand(promoteCommand())
  .addCommand(backupCommand())
  .addCommand(restoreCommand())
  .addCommand(exportCommand())
  .addCommand(importCommand())
  .addCommand(copyCommand())
  .addCommand(tokensCommand());

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
