/**
 * Events grouped for `importEvents`: large batches (one transaction each) make an import fast, and the
 * limits of one call bound them: at most 10,000 events and 16 MiB of data, and over HTTP an 18 MiB body.
 */
import type { SizedEvent } from './export-file.js';

export interface BatchLimits {
  events: number;
  /** Bytes of event lines (the wire form): a request's body is about as large. */
  bytes: number;
}

export const defaultBatchLimits: BatchLimits = { events: 5_000, bytes: 8 * 1024 * 1024 };

/** Batches of `sized` in order, each within `limits` (an event larger than the byte limit goes alone). */
export async function* batchesOf(sized: AsyncIterable<SizedEvent>, limits: BatchLimits = defaultBatchLimits): AsyncGenerator<SizedEvent[]> {
  let batch: SizedEvent[] = [];
  let bytes = 0;
  for await (const item of sized) {
    if (batch.length > 0 && (batch.length === limits.events || bytes + item.bytes > limits.bytes)) {
      yield batch;
      batch = [];
      bytes = 0;
    }
    batch.push(item);
    bytes += item.bytes;
  }
  if (batch.length > 0) yield batch;
}
