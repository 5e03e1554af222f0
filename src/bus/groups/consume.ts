/**
 * The consumer helper (`groups.consume`): pulls as many deliveries as it has free handlers, runs the
 * handler on each, and settles by what the handler did: ack on success, nack with `retry` on a throw,
 * `park` on a `ParkError`, `skip` on a `SkipError`. Settles of handlers that finish together go out as one
 * call. Errors of the group calls (a server restart, a network fault) are reported and retried with a
 * backoff; a deleted group (`not_found`) ends the consumer with that error.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { NotFoundError } from '../../store/errors.js';
import type { RecordedEvent } from '../../store/model.js';
import type { Consumer, ConsumeOptions, Delivery, DeliveryHandler, Groups, NackAction } from './model.js';
import { checkConsumerName, checkGroupName } from './validate.js';
import { InvalidArgumentError } from '../../store/errors.js';

/** Thrown by a handler: park the event (no more retries) with this message as the reason. */
export class ParkError extends Error {
  override name = 'ParkError';
}

/** Thrown by a handler: settle the event without handling it. */
export class SkipError extends Error {
  override name = 'SkipError';
}

/** How long one pull of the helper waits for work before it asks again. */
const pullWaitMs = 5_000;
const retryDelaysMs = { first: 100, max: 5_000 };

type Outcome = { action: 'ack' } | { action: NackAction; reason: string };

const outcomeOf = (error: unknown): Outcome => {
  const reason = error instanceof Error ? error.message || error.name : String(error);
  if (error instanceof ParkError) return { action: 'park', reason };
  if (error instanceof SkipError) return { action: 'skip', reason };
  return { action: 'retry', reason };
};

export const consumeGroup = <E extends RecordedEvent>(
  groups: Pick<Groups, 'pull' | 'ack' | 'nack'>,
  name: string,
  handler: DeliveryHandler<E>,
  options: ConsumeOptions,
): Consumer => {
  const group = checkGroupName(name);
  const consumer = checkConsumerName(options?.consumer);
  const concurrency = options.concurrency ?? 10;
  if (!Number.isSafeInteger(concurrency) || concurrency < 1 || concurrency > 1000) {
    throw new InvalidArgumentError(`concurrency is ${String(concurrency)}; allowed: an integer from 1 to 1000`);
  }
  const stopping = new AbortController();
  options.signal?.addEventListener('abort', () => stopping.abort(), { once: true });
  const running = new Set<Promise<void>>();
  /** Settles waiting to be sent, by action and reason: handlers that finish together share one call. */
  const waiting = new Map<string, { outcome: Outcome; ids: string[] }>();
  let sending: Promise<void> | undefined;
  let failure: Error | undefined;
  let slotFreed: (() => void) | undefined;

  const report = (error: unknown) => options.onError?.(error instanceof Error ? error : new Error(String(error)));

  const send = async (): Promise<void> => {
    while (waiting.size > 0) {
      const batches = [...waiting.values()];
      waiting.clear();
      for (const { outcome, ids } of batches) {
        for (let delay = retryDelaysMs.first; ; delay = Math.min(delay * 2, retryDelaysMs.max)) {
          try {
            await (outcome.action === 'ack' ? groups.ack(group, ids) : groups.nack(group, ids, outcome));
            break;
          } catch (error) {
            // A settle that cannot be sent is redelivered after the ack timeout: nothing is lost.
            if (error instanceof NotFoundError || error instanceof InvalidArgumentError) break;
            report(error);
            if (stopping.signal.aborted) break;
            await sleep(delay);
          }
        }
      }
    }
  };

  const settle = (id: string, outcome: Outcome) => {
    const key = outcome.action === 'ack' ? 'ack' : `${outcome.action}:${outcome.reason}`;
    const batch = waiting.get(key) ?? { outcome, ids: [] };
    batch.ids.push(id);
    waiting.set(key, batch);
    flush();
  };

  /** Sends what waits, unless a send is under way; one that ends with more waiting starts another. */
  const flush = () => {
    if (sending !== undefined) return;
    sending = Promise.resolve()
      .then(send)
      .finally(() => {
        sending = undefined;
        if (waiting.size > 0) flush();
      });
  };

  const handle = (delivery: Delivery) => {
    const task = (async () => {
      try {
        await handler(delivery.event as E, delivery as Delivery<E>);
        settle(delivery.id, { action: 'ack' });
      } catch (error) {
        settle(delivery.id, outcomeOf(error));
      }
    })().finally(() => {
      running.delete(task);
      slotFreed?.();
    });
    running.add(task);
  };

  const stopped = new Promise((resolve) => stopping.signal.addEventListener('abort', resolve, { once: true }));
  const freeSlot = () => new Promise<void>((resolve) => (slotFreed = resolve));

  const loop = async () => {
    for (let delay = retryDelaysMs.first; !stopping.signal.aborted;) {
      if (running.size >= concurrency) {
        await Promise.race([freeSlot(), stopped]);
        continue;
      }
      try {
        const deliveries = await groups.pull(group, {
          consumer,
          max: concurrency - running.size,
          waitMs: pullWaitMs,
          signal: stopping.signal,
        });
        delay = retryDelaysMs.first;
        for (const delivery of deliveries) handle(delivery);
      } catch (error) {
        if (stopping.signal.aborted) break;
        if (error instanceof NotFoundError) {
          failure = error;
          break;
        }
        report(error);
        await sleep(delay, undefined, { signal: stopping.signal }).catch(() => undefined);
        delay = Math.min(delay * 2, retryDelaysMs.max);
      }
    }
    await Promise.all(running);
    while (sending !== undefined) await sending;
    if (failure !== undefined) throw failure;
  };

  const done = loop();
  // The caller learns of a failure through `done` or `close`; an unobserved one must not crash the process.
  done.catch(() => undefined);
  const close = async () => {
    stopping.abort();
    await done;
  };
  return { close, stop: close, done };
};
