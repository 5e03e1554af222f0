/**
 * Where a transfer into a target that already holds part of it goes on, so that running it again after an
 * interruption writes each event once. Imports are all or nothing per batch and go in log order, so what
 * the target holds of the source is a prefix of it, ending with the target's last event.
 */
import { ConflictError } from '../../store/errors.js';
import type { RecordedEvent } from '../../store/model.js';
import type { SizedEvent } from './export-file.js';

/**
 * `nothing`: write everything. `position`: with kept positions, skip what lies at or below the target's
 * head, whose event must be `id`. `id`: with new positions, skip up to and including the event `id`.
 */
export type ResumePoint = { after: 'nothing' } | { after: 'position'; position: bigint; id: string } | { after: 'id'; id: string };

const mismatch = (head: { id: string; position: bigint }, found: string) =>
  new ConflictError(
    `the target's last event is ${head.id} at position ${head.position}, but the source has ${found} there: ` +
      'the target is not a copy of this source (or was written to since), so the transfer cannot go on',
  );

/**
 * The events after `point`; `onSkip` is told of each one left out (for progress). Throws `conflict` when
 * the source does not hold the target's last event where it should be.
 */
export async function* eventsAfter(
  events: AsyncIterable<SizedEvent>,
  point: ResumePoint,
  onSkip: (event: RecordedEvent) => void = () => undefined,
): AsyncGenerator<SizedEvent> {
  let found = point.after === 'nothing';
  let skipped = false;
  for await (const item of events) {
    if (found) {
      yield item;
      continue;
    }
    const { event } = item;
    if (point.after === 'position') {
      if (event.position < point.position) {
        onSkip(event);
        skipped = true;
        continue;
      }
      if (event.position > point.position) {
        // A source that starts above the head (an export made --from there) continues it; one that skips it does not.
        if (skipped) throw mismatch(point, `no event (the next is ${event.id} at ${event.position})`);
        found = true;
        yield item;
        continue;
      }
      if (event.id !== point.id) throw mismatch(point, event.id);
      onSkip(event);
      found = true;
      continue;
    }
    if (point.after === 'id') {
      onSkip(event);
      found = event.id === point.id;
    }
  }
  if (!found && point.after === 'id') {
    throw new ConflictError(
      `the target holds the source's first event, but its last event, ${point.id}, is not in the source: ` +
        'it was written to since it was copied into, so the transfer cannot go on',
    );
  }
}
