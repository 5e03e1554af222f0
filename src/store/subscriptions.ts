/**
 * Catch-up subscriptions (DESIGN.md section 6): history read page by page, then `{ caughtUp: true }`, then
 * live events from the store's live tail, with no gap and no duplicate at the handover.
 *
 * What they cost is what they deliver:
 * - A filtered subscription's cursor is the position it has examined, not the last event that matched,
 *   and a read scans at most `scanWindow` positions, so a filter that rarely matches never rescans the log.
 * - Live subscribers attach to the live tail, which reads new events once for all of them and wakes only
 *   those that an event concerns. A `$all` subscriber gets the events themselves; a stream subscriber is
 *   woken and reads its stream (which applies the stream's metadata, as history reads do).
 * - A slow subscriber holds at most one page of live events; beyond that it lets go of the tail and reads
 *   the log at its own pace.
 */
import type { ChangeFeed } from './change-feed.js';
import { UnavailableError } from './errors.js';
import type { LiveTail, TailListener } from './live-tail.js';
import type { AllFilter, RecordedEvent, RetryPolicy, SubscriptionMessage, SubscriptionStatus } from './model.js';
import { createRetries } from './retries.js';
import { pageSize } from './reading.js';
import type { AllQuery, StreamQuery } from './validate.js';

/** Most positions one read of a filtered subscription scans. */
export const scanWindow = 10_000n;
/** How often a subscription that asked for checkpoints reports progress while nothing matches. */
export const checkpointIntervalMs = 1000;

export interface Following {
  changes: ChangeFeed;
  tail: LiveTail;
  signal: AbortSignal;
  retry: Required<RetryPolicy>;
  onStatus: ((status: SubscriptionStatus) => void) | undefined;
}

/** Runs reads again after `unavailable` errors for as long as the policy allows. */
const retrying = ({ signal, retry, onStatus }: Following) => {
  const retries = createRetries(retry, onStatus, signal);
  return async <T>(read: () => Promise<T>): Promise<T> => {
    for (;;) {
      try {
        const result = await read();
        retries.succeeded();
        return result;
      } catch (error) {
        if (!(error instanceof UnavailableError) || signal.aborted) throw error;
        await retries.failed(error);
        if (signal.aborted) throw error;
      }
    }
  };
};

/** Something to wait for: `notify` wakes the waiter, or the next one if none waits now. */
const wakeable = () => {
  let pending = false;
  let wake: (() => void) | undefined;
  return {
    notify() {
      pending = true;
      wake?.();
    },
    clear() {
      pending = false;
    },
    async wait(signal: AbortSignal, timeoutMs?: number) {
      if (!pending && !signal.aborted) {
        await new Promise<void>((resolve) => {
          const timer = timeoutMs === undefined ? undefined : setTimeout(done, timeoutMs);
          function done() {
            clearTimeout(timer);
            signal.removeEventListener('abort', done);
            wake = undefined;
            resolve();
          }
          wake = done;
          signal.addEventListener('abort', done, { once: true });
        });
      }
      pending = false;
    },
  };
};

/**
 * A subscription to the global log, optionally filtered; `start` gives the position to deliver after. It is
 * looked up here, not by a generator around this one, because each layer of generators costs every event.
 */
export async function* followAll(
  following: Following,
  source: {
    filter: AllFilter | undefined;
    start: () => Promise<bigint>;
    checkpoints: boolean;
    read: (query: AllQuery) => Promise<RecordedEvent[]>;
  },
): AsyncGenerator<SubscriptionMessage> {
  const { changes, tail, signal } = following;
  const { filter, checkpoints } = source;
  const read = retrying(following);
  let cursor = await source.start();
  // What the caller last learnt of the cursor, by an event or a checkpoint, and when. Noted once per
  // page or batch of live events rather than per event: catch-up goes at the speed of a plain read.
  let reported = { position: cursor, at: Date.now() };
  let caughtUp = false;
  let lastDelivered = cursor;
  const delivered = (event: RecordedEvent) => {
    cursor = lastDelivered = event.position;
    return event;
  };
  const noteDelivered = () => {
    if (lastDelivered > reported.position) reported = { position: lastDelivered, at: Date.now() };
  };
  const checkpointDue = () => checkpoints && cursor > reported.position && Date.now() - reported.at >= checkpointIntervalMs;
  const checkpoint = () => {
    reported = { position: cursor, at: Date.now() };
    return { checkpoint: cursor };
  };

  while (!signal.aborted) {
    const head = changes.head;
    if (cursor < head) {
      const to = head - cursor > scanWindow ? cursor + scanWindow : head;
      const page = await read(() => source.read({ from: cursor + 1n, to, direction: 'forwards', limit: pageSize, filter }));
      for (const event of page) {
        if (signal.aborted) return;
        yield delivered(event);
      }
      noteDelivered();
      if (page.length < pageSize && to > cursor) cursor = to;
      if (checkpointDue()) yield checkpoint();
      continue;
    }
    if (!caughtUp) {
      caughtUp = true;
      yield { caughtUp: true };
    }

    const queue: RecordedEvent[] = [];
    const wake = wakeable();
    let attached = true;
    const listener: TailListener = {
      filter,
      deliver(_event, take) {
        if (!attached) return;
        if (queue.length < pageSize) queue.push(take());
        else {
          // Too slow to keep up: read the log instead of holding more of it in memory.
          attached = false;
          tail.detach(listener);
        }
        wake.notify();
      },
      fail() {
        attached = false;
        wake.notify();
      },
    };
    if (!tail.attach(listener, cursor)) continue;
    try {
      for (;;) {
        for (let event = queue.shift(); event !== undefined; event = queue.shift()) {
          if (event.position <= cursor) continue;
          if (signal.aborted) return;
          yield delivered(event);
        }
        noteDelivered();
        if (!attached) break;
        // Everything the tail has passed was examined for this subscription, matched or not.
        if (tail.position > cursor) cursor = tail.position;
        if (checkpointDue()) {
          yield checkpoint();
          continue;
        }
        await wake.wait(signal, checkpoints ? checkpointIntervalMs : undefined);
        if (signal.aborted) return;
      }
    } finally {
      if (attached) tail.detach(listener);
    }
  }
}

/** A subscription to one stream; `start` gives the revision to deliver after (-1: from the beginning). */
export async function* followStream(
  following: Following,
  source: { stream: string; start: () => Promise<number>; read: (query: StreamQuery) => Promise<RecordedEvent[]> },
): AsyncGenerator<SubscriptionMessage> {
  const { changes, tail, signal } = following;
  const read = retrying(following);
  const wake = wakeable();
  let attached = false;
  const listener: TailListener = {
    stream: source.stream,
    deliver: () => wake.notify(),
    fail() {
      attached = false;
      wake.notify();
    },
  };
  let cursor = await source.start();
  let caughtUp = false;
  try {
    while (!signal.aborted) {
      const head = changes.head;
      wake.clear();
      const page = await read(() => source.read({ from: cursor + 1, direction: 'forwards', limit: pageSize }));
      for (const event of page) {
        if (signal.aborted) return;
        yield event;
        cursor = event.revision;
      }
      if (page.length === pageSize) continue;
      if (!caughtUp) {
        caughtUp = true;
        yield { caughtUp: true };
      }
      // Attached with the head seen before the read: the tail wakes it for every event of the stream after.
      if (!attached && !(attached = tail.attach(listener, head))) continue;
      await wake.wait(signal);
    }
  } finally {
    if (attached) tail.detach(listener);
  }
}
