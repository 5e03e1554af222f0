/**
 * `annals export`: a store's whole log, system events included, as NDJSON (the wire form of `/all`), after
 * a header line naming the source (src/cli/transfer/header.ts), into a file or to stdout. `--resume` goes
 * on with a file an interrupted export left, after its last complete line.
 */
import { existsSync } from 'node:fs';
import { Command } from 'commander';
import { recordToJsonText } from '../protocol/wire.js';
import { ConflictError, InvalidArgumentError } from '../store/errors.js';
import type { EventStore } from '../store/event-store.js';
import type { StoreStats } from '../store/model.js';
import { eventOf, parseLine } from './transfer/event-line.js';
import { headerOfFile } from './transfer/export-file.js';
import { positionFlag } from './transfer/plan.js';
import { headerLine, isHeader } from './transfer/header.js';
import { meter } from './transfer/meter.js';
import { addSideOptions, openSide } from './transfer/sides.js';
import { fileSink, stdoutSink, type Sink } from './transfer/sink.js';
import { tailOf } from './transfer/tail.js';

interface ExportOptions {
  out?: string;
  from?: string;
  resume?: boolean;
}

/** Lines are gathered into chunks of about this many characters before they are written. */
const chunkChars = 1 << 20;

/** Where a partial export goes on, after checking it is an export of this store and its last event is this store's. */
const resumeFrom = async (path: string, store: EventStore, stats: StoreStats): Promise<{ keep: number; from: bigint } | undefined> => {
  const { complete, lastLine } = await tailOf(path);
  if (lastLine === undefined) return undefined;
  const header = await headerOfFile(path);
  if (header === undefined) throw new InvalidArgumentError(`${path} has no export header, so --resume cannot tell what it is an export of`);
  if (header.storeId !== stats.storeId || header.epoch !== stats.epoch) {
    throw new ConflictError(
      `${path} is an export of ${header.storeId} (epoch ${header.epoch}); this source is ${stats.storeId} (epoch ${stats.epoch}): ` +
        'export into another file',
    );
  }
  const last = parseLine(lastLine, `${path}, its last complete line,`);
  if (isHeader(last)) return { keep: complete, from: header.from };
  const event = eventOf(last, `${path}, its last complete line,`);
  const [here] = await store.readAll({ from: event.position, limit: 1, filter: { includeSystem: true } });
  if (here?.id !== event.id || here.position !== event.position) {
    throw new ConflictError(`${path} ends with event ${event.id} at position ${event.position}, which this source does not hold there`);
  }
  return { keep: complete, from: event.position + 1n };
};

const exportLog = async (options: ExportOptions, command: Command) => {
  if (options.resume && options.out === undefined) throw new InvalidArgumentError('--resume goes on with a file: give it as --out');
  if (options.resume && options.from !== undefined) {
    throw new InvalidArgumentError('--resume goes on where the file ends; --from is for a new export');
  }
  // With the events on stdout, what a person reads goes to stderr.
  const people = options.out === undefined ? process.stderr : process.stdout;
  const side = await openSide(command, '', 'source');
  let sink: Sink | undefined;
  try {
    const stats = await side.store.stats();
    const resumed = options.resume && existsSync(options.out!) ? await resumeFrom(options.out!, side.store, stats) : undefined;
    const from = resumed?.from ?? (options.from === undefined ? 1n : positionFlag('--from', options.from));
    sink = options.out === undefined ? stdoutSink() : await fileSink(options.out, resumed?.keep);
    if (resumed === undefined) await sink.write(`${headerLine({ ...stats, from })}\n`);
    // The head now bounds the export: a log that grows meanwhile ends where it stood when the export began.
    const head = stats.headPosition;
    const progress = meter('export', head, people);
    const started = performance.now();
    let events = 0;
    let chunk = '';
    try {
      for await (const event of side.store.iterateAllRecords({ from, filter: { includeSystem: true } })) {
        if (event.position > head) break;
        chunk += `${recordToJsonText(event)}\n`;
        events++;
        if (chunk.length >= chunkChars) {
          await sink.write(chunk);
          chunk = '';
          progress.at(event.position, events);
        }
      }
      await sink.write(chunk);
      progress.at(head, events);
    } finally {
      progress.stop();
    }
    const ms = performance.now() - started;
    const what = resumed === undefined ? '' : `, going on from position ${from}`;
    people.write(
      `export: wrote ${events.toLocaleString('en-US')} events of ${side.where} up to position ${head}${what} ` +
        `to ${options.out ?? 'stdout'} in ${(ms / 1000).toFixed(1)} s (${Math.round((events * 1000) / Math.max(ms, 1)).toLocaleString('en-US')} events/s)\n`,
    );
  } catch (error) {
    side.explain(error);
    throw error;
  } finally {
    await sink?.close();
    await side.store.close();
  }
};

export const exportCommand = () =>
  addSideOptions(
    new Command('export')
      .description("write a store's whole log, system events included, as NDJSON, to a file or stdout")
      .option('--out <file>', 'the file to write (default: stdout)')
      .option('--from <position>', 'the first position to export (default: the start)')
      .option('--resume', 'go on with the --out file of an interrupted export, after its last complete line'),
    '',
    'source',
  )
    .addHelpText(
      'after',
      `
The first line is a header naming the source store (storeId, epoch, head); then one event per line, as
annals read '$all' --include-system prints them. Examples:
  annals export --out orders.ndjson --url http://127.0.0.1:2113 --token $TOKEN
  annals export --out orders.ndjson --engine sqlite --data ./data      # the server stopped: it locks the file
  annals export --out orders.ndjson --resume                           # after an interruption`,
    )
    .action((options: ExportOptions, command: Command) => exportLog(options, command));
