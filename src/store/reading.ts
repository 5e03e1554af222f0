/** Long reads and subscriptions, built once on top of the engines' paged reads. */
import type { ChangeFeed } from './change-feed.js';
import type { AllQuery, StreamQuery } from './validate.js';
import type { RecordedEvent, Subscription, SubscriptionMessage } from './model.js';

export const pageSize = 1000;

/** Pages through a read: each page asks for what follows the last event of the one before. */
async function* pages<Query extends { limit: number }>(
  read: (query: Query) => Promise<RecordedEvent[]>,
  query: Query,
  after: (query: Query, last: RecordedEvent) => Query | undefined,
): AsyncGenerator<RecordedEvent> {
  let next: Query | undefined = query;
  let remaining = query.limit;
  while (next !== undefined && remaining > 0) {
    const size = Math.min(remaining, pageSize);
    const page = await read({ ...next, limit: size });
    yield* page;
    const last = page.at(-1);
    if (last === undefined || page.length < size) return;
    remaining -= page.length;
    next = after(next, last);
  }
}

export const pagesOfStream = (read: (query: StreamQuery) => Promise<RecordedEvent[]>, query: StreamQuery) =>
  pages(read, query, (previous, last) => {
    const from = previous.direction === 'forwards' ? last.revision + 1 : last.revision - 1;
    return from < 0 ? undefined : { ...previous, from };
  });

export const pagesOfAll = (read: (query: AllQuery) => Promise<RecordedEvent[]>, query: AllQuery) =>
  pages(read, query, (previous, last) => {
    const from = previous.direction === 'forwards' ? last.position + 1n : last.position - 1n;
    return from < 0n ? undefined : { ...previous, from };
  });

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

/** A subscription over `messages`: closing it aborts `controller`, which ends what `messages` waits on. */
export const subscriptionOf = (messages: AsyncGenerator<SubscriptionMessage>, controller: AbortController): Subscription => ({
  [Symbol.asyncIterator]: () => messages,
  async close() {
    controller.abort();
    await messages.return(undefined);
  },
});
