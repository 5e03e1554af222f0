/**
 * Moving a store (issue 14): `annals export` of a SQLite store of 1,000,000 events × scale to an NDJSON
 * file, and `annals import` of that file into an empty SQLite store, each run as the real command in a
 * process of its own. The rate of each is the one the command prints (its events over the time it spent
 * moving them, after opening the stores), with the process's whole time in the details.
 *
 * - Export, beside the layer underneath: raw better-sqlite3 reading the same rows in pages of 1,000 by
 *   position (nothing parsed, nothing written); in the details, `iterateAll` of the same log (every event
 *   parsed into objects) and `fs.copyFile` of the export file, in events/s.
 * - Import, beside appends of 1,000-event batches into an empty store with the same durability: the
 *   store's fastest way in, with the transaction per batch that import also makes.
 */
import { spawn } from 'node:child_process';
import Database from 'better-sqlite3';
import { once } from 'node:events';
import { copyFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { root } from '../../src/cli/testing/processes.js';
import { eventColumns } from '../../src/engines/sqlite/columns.js';
import { openEventStore } from '../../src/engines/open.js';
import { perSecond, timed, type BenchContext, type BenchSuite, type Measurement } from '../harness.js';
import { preload, scaled } from '../workload.js';

/** Runs `annals <args>`; its output and the milliseconds the process took, or a failure with its output. */
const annals = async (args: string[]) => {
  const start = performance.now();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`annals ${args.join(' ')} failed (${code}):\n${output.slice(-2000)}`);
  return { output, ms: performance.now() - start };
};

/** The rate a transfer command printed in its summary, e.g. 'in 4.1 s (243,902 events/s)'. */
const printedRate = (output: string, command: string) => {
  const match = /\(([0-9,]+) events\/s\)/.exec(output);
  if (match === null) throw new Error(`annals ${command} printed no rate:\n${output.slice(-2000)}`);
  return Number(match[1]!.replaceAll(',', ''));
};

const run = async (context: BenchContext): Promise<Measurement[]> => {
  const dir = context.tempDir();
  const total = scaled(context, 1_000_000, 2_000);
  const source = join(dir, 'source');
  const file = join(dir, 'export.ndjson');

  const store = await openEventStore({ path: join(source, 'annals.db') });
  context.progress(`loading ${total.toLocaleString('en-US')} events`);
  await preload(store, total, { batch: 1000, streams: 1000 });
  let read = 0;
  const readMs = await timed(async () => {
    for await (const _ of store.iterateAll({ filter: { includeSystem: true } })) read++;
  });
  await store.close();
  const raw = new Database(join(source, 'annals.db'), { readonly: true });
  const page = raw.prepare(`SELECT ${eventColumns} FROM events WHERE position > ? ORDER BY position LIMIT 1000`).raw(true);
  let rawRows = 0;
  const rawMs = await timed(() => {
    for (let rows = page.all(0) as unknown[][]; rows.length > 0; rows = page.all(rows.at(-1)![0]) as unknown[][]) rawRows += rows.length;
  });
  raw.close();

  context.progress('annals export');
  const exported = await annals(['export', '--engine', 'sqlite', '--data', source, '--out', file]);
  const copyMs = await timed(() => copyFile(file, join(dir, 'copy.ndjson')));
  await rm(join(dir, 'copy.ndjson'));

  context.progress('appends into an empty store');
  const appendTarget = await openEventStore({ path: join(dir, 'appended', 'annals.db') });
  const appendMs = await timed(() => preload(appendTarget, total, { batch: 1000, streams: 1000 }));
  await appendTarget.close();

  context.progress('annals import');
  const imported = await annals(['import', '--file', file, '--engine', 'sqlite', '--data', join(dir, 'target'), '--no-verify']);

  return [
    {
      name: `annals export of ${total.toLocaleString('en-US')} events (SQLite to a file)`,
      unit: 'events/s',
      value: printedRate(exported.output, 'export'),
      limit: { name: 'raw better-sqlite3 reading the same rows, 1,000 a page', value: perSecond(rawRows, rawMs) },
      target: '>= 200000',
      details: {
        processMs: exported.ms,
        iterateAllEventsPerSecond: perSecond(read, readMs),
        fileCopyEventsPerSecond: perSecond(read, copyMs),
        fileCopyMs: copyMs,
      },
    },
    {
      name: `annals import of ${total.toLocaleString('en-US')} events (the file into an empty SQLite store)`,
      unit: 'events/s',
      value: printedRate(imported.output, 'import'),
      limit: { name: 'appends of 1,000-event batches into an empty store', value: perSecond(total, appendMs) },
      target: '>= 100000',
      details: { processMs: imported.ms },
    },
  ];
};

export const suite: BenchSuite = { name: 'transfer', run };
