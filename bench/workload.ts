/** What the suites write: the same small order events everywhere, and the same concurrent-append loop. */
import type { EventStore } from '../src/store/event-store.js';
import type { EventInput } from '../src/store/model.js';
import { timed, type BenchContext } from './harness.js';

export const eventData = (index: number) => ({ index, customer: `customer-${index % 1000}`, total: 12.5, items: ['a', 'b'] });

export const eventOf = (index: number): EventInput => ({ type: 'OrderPlaced', data: eventData(index) });

/** `count` scaled by the run's scale factor, but never below `minimum`. */
export const scaled = (context: BenchContext, count: number, minimum: number) => Math.max(minimum, Math.round(count * context.scale));

/**
 * Appends `total` events in batches of `batch`, spread over `streams` streams, as fast as one caller can;
 * reports progress every 100 batches and at the end, so that the count reaches the total.
 */
export const preload = async (
  store: EventStore,
  total: number,
  options: { batch: number; streams: number; progress?: (done: number) => void },
) => {
  const { batch, streams, progress } = options;
  for (let done = 0; done < total;) {
    const size = Math.min(batch, total - done);
    await store.append(
      `order-${(done / batch) % streams}`,
      Array.from({ length: size }, (_, i) => eventOf(done + i)),
    );
    done += size;
    if (progress !== undefined && (done % (batch * 100) === 0 || done === total)) progress(done);
  }
};

/** `callers` concurrent callers, each making `perCaller` calls one after the other; elapsed ms and latencies. */
export const callConcurrently = async (callers: number, perCaller: number, call: (caller: number, index: number) => Promise<unknown>) => {
  const latencies: number[] = [];
  const ms = await timed(() =>
    Promise.all(
      Array.from({ length: callers }, async (_, caller) => {
        for (let index = 0; index < perCaller; index++) {
          const start = performance.now();
          await call(caller, index);
          latencies.push(performance.now() - start);
        }
      }),
    ),
  );
  return { ms, latencies };
};

/** `callers` concurrent callers, each appending `perCaller` single events to a stream of its own. */
export const appendFromCallers = (store: EventStore, callers: number, perCaller: number, prefix = 'order') =>
  callConcurrently(callers, perCaller, (caller, index) => store.append(`${prefix}-${caller}`, [eventOf(index)]));

/**
 * Calls `call(index)` `count` times at `perSecond` on a timer, without waiting for earlier calls: an open
 * loop, so a slow call delays neither the rate nor the calls after it (no coordinated omission). Timers
 * fire at most about once a millisecond, so a tick that comes late makes every call that is due.
 */
export const paced = async (count: number, perSecond: number, call: (index: number) => Promise<unknown>) => {
  const calls: Promise<unknown>[] = [];
  const start = performance.now();
  for (let index = 0; index < count;) {
    const due = start + (index * 1000) / perSecond;
    if (due > performance.now()) await new Promise((resolve) => setTimeout(resolve, due - performance.now()));
    for (const now = performance.now(); index < count && start + (index * 1000) / perSecond <= now; index++) calls.push(call(index));
  }
  await Promise.all(calls);
};
