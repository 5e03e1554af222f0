/**
 * What `annals import` and `annals copy` share: place the events (positions kept or new), go on where an
 * interrupted run stopped, write in batches with progress, then verify the target against the source.
 */
import type { EventStore } from '../../store/event-store.js';
import type { RecordedEvent, StoreIdentity } from '../../store/model.js';
import { batchesOf } from './batches.js';
import { compareLogs } from './compare.js';
import type { SizedEvent } from './export-file.js';
import { meter } from './meter.js';
import { choosePositions, resumePointOf, type Positions } from './plan.js';
import { eventsAfter, type ResumePoint } from './resume.js';

/** What is transferred: an export file, or a store's log up to its head. */
export interface TransferSource {
  /** Where the events come from, when known: kept positions take it into an empty target. */
  identity?: StoreIdentity;
  /** The source's first event, if any. */
  first?: RecordedEvent;
  /** The position the source ends at: how far progress goes. */
  lastPosition: bigint;
  /** The events to transfer; they may start anywhere at or before `point` (only what follows it is written). */
  events(point: ResumePoint): AsyncIterable<SizedEvent>;
  /** Every event, from the first, for verification. */
  all(): AsyncIterable<RecordedEvent>;
}

export interface TransferOptions {
  /** `import` or `copy`, for progress and messages. */
  label: string;
  positions?: Positions;
  verify: boolean;
  /** What the summary says the target is. */
  where: string;
}

const rate = (events: number, ms: number) => `${Math.round((events * 1000) / Math.max(ms, 1)).toLocaleString('en-US')} events/s`;

/** Transfers `source` into `target`, prints a summary and, unless told not to, verifies; a difference throws. */
export const transfer = async (source: TransferSource, target: EventStore, options: TransferOptions): Promise<void> => {
  const started = performance.now();
  const positions = choosePositions(options.positions, source.identity, await target.stats());
  const point = await resumePointOf(target, positions, source.first);
  const importOptions = positions === 'keep' ? { keepPositions: true, source: source.identity } : {};
  const progress = meter(options.label, source.lastPosition, process.stdout);
  let written = 0;
  let resumedAfter: bigint | undefined;
  try {
    const events = eventsAfter(source.events(point), point, (event) => {
      resumedAfter = event.position;
      progress.at(event.position, written);
    });
    for await (const batch of batchesOf(events)) {
      await target.importEvents(
        batch.map((item) => item.event),
        importOptions,
      );
      written += batch.length;
      progress.at(batch.at(-1)!.event.position, written);
    }
  } finally {
    progress.stop();
  }
  const ms = performance.now() - started;
  const resumed = resumedAfter === undefined ? '' : `, after position ${resumedAfter}, which the target held already`;
  process.stdout.write(
    `${options.label}: wrote ${written.toLocaleString('en-US')} events into ${options.where}, positions ${positions === 'keep' ? 'kept' : 'new'}${resumed}, ` +
      `in ${(ms / 1000).toFixed(1)} s (${rate(written, ms)})\n`,
  );
  if (!options.verify || source.first === undefined) return;
  // Where the source's first event is in the target: at its own position, or wherever new positions put it.
  const first = positions === 'keep' ? source.first : await target.readEvent(source.first.id);
  if (first === undefined) throw new Error(`verification failed: the source's first event, ${source.first.id}, is not in the target`);
  const actual = target.iterateAll({ from: first.position, filter: { includeSystem: true } });
  const comparison = await compareLogs(source.all(), actual, positions === 'keep');
  if ('difference' in comparison) {
    throw new Error(`verification failed after ${comparison.verified} equal events: ${comparison.difference}`);
  }
  process.stdout.write(`verified ${comparison.verified.toLocaleString('en-US')} events\n`);
};
