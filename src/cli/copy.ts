/**
 * `annals copy`: one store's log into another, directly (a server or a store opened here on each side),
 * by the rules of `annals import`: positions kept where the target allows it, resumable, verified.
 */
import { Command } from 'commander';
import { recordedToJsonText } from '../protocol/wire.js';
import { ConflictError } from '../store/errors.js';
import type { EventStore } from '../store/event-store.js';
import type { RecordedEvent } from '../store/model.js';
import type { SizedEvent } from './transfer/export-file.js';
import { positionFlag, positionsOf, positionsOption } from './transfer/plan.js';
import type { ResumePoint } from './transfer/resume.js';
import { addSideOptions, openSide, type Side } from './transfer/sides.js';
import { transfer } from './transfer/transfer.js';

interface CopyOptions {
  from?: string;
  positions?: string;
  verify: boolean;
}

const everything = { includeSystem: true };

/** The source's log from `from` up to `head`, where it stood when the copy began. */
async function* logOf(store: EventStore, from: bigint, head: bigint): AsyncGenerator<RecordedEvent> {
  for await (const event of store.iterateAll({ from, filter: everything })) {
    if (event.position > head) return;
    yield event;
  }
}

/** Where in the source to start reading so that the events after `point` follow: at most one is read twice. */
const startOf = async (source: EventStore, point: ResumePoint, from: bigint): Promise<bigint> => {
  if (point.after === 'nothing') return from;
  if (point.after === 'position') return point.position > from ? point.position : from;
  const last = await source.readEvent(point.id);
  if (last === undefined) {
    throw new ConflictError(
      `the target holds the source's first event, but its last event, ${point.id}, is not in the source: it was written to since`,
    );
  }
  return last.position;
};

async function* sized(events: AsyncIterable<RecordedEvent>): AsyncGenerator<SizedEvent> {
  for await (const event of events) yield { event, bytes: Buffer.byteLength(recordedToJsonText(event)) + 1 };
}

const copyLog = async (options: CopyOptions, command: Command) => {
  const positions = positionsOf(options.positions);
  const from = options.from === undefined ? 1n : positionFlag('--from', options.from);
  const opened: Side[] = [];
  try {
    const source = await openSide(command, 'source-', 'source');
    opened.push(source);
    const target = await openSide(command, 'target-', 'target');
    opened.push(target);
    try {
      const stats = await source.store.stats();
      const [first] = await source.store.readAll({ from, limit: 1, filter: everything });
      await transfer(
        {
          identity: stats,
          first: first !== undefined && first.position <= stats.headPosition ? first : undefined,
          lastPosition: stats.headPosition,
          events: (point) =>
            (async function* () {
              yield* sized(logOf(source.store, await startOf(source.store, point, from), stats.headPosition));
            })(),
          all: () => logOf(source.store, from, stats.headPosition),
        },
        target.store,
        { label: 'copy', positions, verify: options.verify, where: target.where },
      );
    } catch (error) {
      for (const side of opened) side.explain(error);
      throw error;
    }
  } finally {
    for (const side of opened) await side.store.close();
  }
};

export const copyCommand = () =>
  addSideOptions(
    addSideOptions(
      new Command('copy')
        .description(
          "copy a store's whole log, system events included, into another store: SQLite to PostgreSQL and back, or through servers",
        )
        .option('--from <position>', 'the first position to copy (default: the start)')
        .addOption(positionsOption())
        .option('--no-verify', 'skip reading both logs back and comparing them'),
      'source-',
      'source',
    ),
    'target-',
    'target',
  )
    .addHelpText(
      'after',
      `
Each side is a server (--source-url, --source-token) or a store opened here (--source-engine sqlite
--source-data DIR, or --source-engine postgres --source-pg-url URL --source-pg-schema S); likewise --target-*.
A SQLite store opened here must not be in use by a server. Examples:
  annals copy --source-engine sqlite --source-data ./data --target-engine postgres --target-pg-url postgres://app@db/app
  annals copy --source-url http://old:2113 --source-token $OLD --target-url http://new:2113 --target-token $NEW`,
    )
    .action((options: CopyOptions, command: Command) => copyLog(options, command));
