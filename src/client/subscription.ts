/**
 * A subscription over Server-Sent Events. When the connection drops, it reconnects with `Last-Event-ID`
 * (the position of the last event, or checkpoint, it received), so the caller sees neither a gap nor a
 * repeat, and the end of history only once. It tries again as the retry policy says (by default for as
 * long as it is open), starting the count over after every successful reconnect, and reports each change
 * of state to `onStatus`.
 */
import { StringDecoder } from 'node:string_decoder';
import { setTimeout as sleep } from 'node:timers/promises';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { AnnalsError, UnavailableError } from '../store/errors.js';
import type { RetryPolicy, Subscription, SubscriptionMessage, SubscriptionStatus } from '../store/model.js';
import { subscriptionOf } from '../store/reading.js';
import { retryDelayMs } from '../store/subscriptions.js';
import { recordedFromJson, type ProblemJson, type RecordedEventJson } from '../protocol/wire.js';
import { errorFromProblem } from './problems.js';
import type { Transport } from './transport.js';

export interface SubscriptionOptions {
  retry: Required<RetryPolicy>;
  onStatus: ((status: SubscriptionStatus) => void) | undefined;
  /** Yield `{ checkpoint }` for the server's `event: checkpoint` messages. */
  checkpoints: boolean;
}

/** Runs until `controller` aborts (closing the subscription does that), or fails; it aborts it on the way out. */
export const openSubscription = (transport: Transport, path: string, controller: AbortController, options: SubscriptionOptions): Subscription => {
  const { retry, onStatus, checkpoints } = options;
  let lastEventId: string | undefined;
  let caughtUp = false;
  let failures = 0;

  async function* connection(): AsyncGenerator<SubscriptionMessage> {
    const headers: Record<string, string> = lastEventId === undefined ? {} : { 'last-event-id': lastEventId };
    const { body } = await transport.open({ method: 'GET', path, accept: 'text/event-stream', headers, signal: controller.signal });
    if (failures > 0) onStatus?.({ state: 'connected' });
    failures = 0;
    const received: EventSourceMessage[] = [];
    const parser = createParser({ onEvent: (message) => received.push(message), maxBufferSize: 64 * 1024 * 1024 });
    const decoder = new StringDecoder('utf8');
    try {
      for await (const chunk of body) {
        parser.feed(decoder.write(chunk as Buffer));
        for (const message of received.splice(0)) {
          if (message.event === 'problem') throw errorFromProblem(JSON.parse(message.data) as ProblemJson);
          if (message.event === 'caught-up') {
            if (!caughtUp) yield { caughtUp: true };
            caughtUp = true;
          } else if (message.event === 'checkpoint') {
            lastEventId = message.id;
            if (checkpoints && message.id !== undefined) yield { checkpoint: BigInt(message.id) };
          } else {
            const event = recordedFromJson(JSON.parse(message.data) as RecordedEventJson);
            lastEventId = message.id;
            yield event;
          }
        }
      }
    } finally {
      body.destroy();
    }
    throw new UnavailableError('the server ended the subscription');
  }

  async function* messages(): AsyncGenerator<SubscriptionMessage> {
    try {
      while (!controller.signal.aborted) {
        try {
          yield* connection();
        } catch (caught) {
          if (controller.signal.aborted) return;
          if (caught instanceof AnnalsError && caught.code !== 'unavailable') throw caught;
          const error = caught instanceof AnnalsError ? caught : new UnavailableError(`the subscription was cut off: ${(caught as Error).message}`, { cause: caught });
          if (failures >= retry.maxAttempts) {
            onStatus?.({ state: 'failed', error });
            throw error;
          }
          const delayMs = retryDelayMs(retry, failures++);
          onStatus?.({ state: 'reconnecting', attempt: failures, delayMs, error });
          await sleep(delayMs, undefined, { signal: controller.signal }).catch(() => undefined);
        }
      }
    } finally {
      controller.abort();
    }
  }

  return subscriptionOf(messages(), controller);
};
