/** Long reads and subscriptions, built once on top of the engines' paged reads. */
import type { ChangeFeed } from './change-feed.js';
import type { AllQuery, StreamQuery } from './validate.js';
import type { RecordedEvent } from './model.js';

export const pageSize = 1000;

/** Pages through a stream: each page starts just past the last event of the one before. */
export async function* pagesOfStream(
  read: (query: StreamQuery) => Promise<RecordedEvent[]>,
  query: StreamQuery,
): AsyncGenerator<RecordedEvent> {
  let { from, limit } = query;
  while (limit > 0) {
    const page = await read({ ...query, from, limit: Math.min(limit, pageSize) });
    yield* page;
    const last = page.at(-1);
    if (last === undefined || page.length < Math.min(limit, pageSize)) return;
    limit -= page.length;
    from = query.direction === 'forwards' ? last.revision + 1 : last.revision - 1;
    if (from < 0) return;
  }
}

export async function* pagesOfAll(
  read: (query: AllQuery) => Promise<RecordedEvent[]>,
  query: AllQuery,
): AsyncGenerator<RecordedEvent> {
  let { from, limit } = query;
  while (limit > 0) {
    const page = await read({ ...query, from, limit: Math.min(limit, pageSize) });
    yield* page;
    const last = page.at(-1);
    if (last === undefined || page.length < Math.min(limit, pageSize)) return;
    limit -= page.length;
    from = query.direction === 'forwards' ? last.position + 1n : last.position - 1n;
    if (from < 0n) return;
  }
}

/**
 * Follows a source for ever: reads pages after the cursor until one comes back short, then (once) reports
 * being caught up, then sleeps until the change feed moves past the head it saw before its last read.
 * `readAfter` returns the next page strictly after `cursor`; `cursorOf` gives the cursor an event leaves.
 */
export async function* follow<Cursor>(options: {
  changes: ChangeFeed;
  start: Cursor;
  readAfter: (cursor: Cursor) => Promise<RecordedEvent[]>;
  cursorOf: (event: RecordedEvent) => Cursor;
  signal: AbortSignal;
}): AsyncGenerator<RecordedEvent | { caughtUp: true }> {
  const { changes, readAfter, cursorOf, signal } = options;
  let cursor = options.start;
  let caughtUp = false;
  while (!signal.aborted) {
    const headBeforeRead = changes.head;
    const page = await readAfter(cursor);
    for (const event of page) {
      if (signal.aborted) return;
      yield event;
      cursor = cursorOf(event);
    }
    if (page.length >= pageSize) continue;
    if (!caughtUp) {
      caughtUp = true;
      yield { caughtUp: true };
    }
    await changes.wait(headBeforeRead, signal);
  }
}
