/** Long reads and subscriptions, built once on top of the engines' paged reads. */
import type { AllQuery, StreamQuery } from './validate.js';
import type { RecordedEvent, Subscription, SubscriptionMessage } from './model.js';

export const pageSize = 1000;

/** Pages through a read: each page asks for what follows the last event of the one before. */
async function* pages<Query extends { limit: number }, Event>(
  read: (query: Query) => Promise<Event[]>,
  query: Query,
  after: (query: Query, last: Event) => Query | undefined,
): AsyncGenerator<Event> {
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

export const pagesOfAll = <Event extends { position: bigint }>(read: (query: AllQuery) => Promise<Event[]>, query: AllQuery) =>
  pages(read, query, (previous, last) => {
    const from = previous.direction === 'forwards' ? last.position + 1n : last.position - 1n;
    return from < 0n ? undefined : { ...previous, from };
  });

/** A subscription over `messages`: closing it aborts `controller`, which ends what `messages` waits on. */
export const subscriptionOf = (messages: AsyncGenerator<SubscriptionMessage>, controller: AbortController): Subscription => ({
  [Symbol.asyncIterator]: () => messages,
  async close() {
    controller.abort();
    await messages.return(undefined);
  },
});
