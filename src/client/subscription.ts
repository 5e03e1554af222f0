/**
 * A subscription over Server-Sent Events. When the connection drops, it reconnects with `Last-Event-ID`
 * (the position of the last event it delivered), so the caller sees neither a gap nor a repeat, and the
 * end of history only once. It gives up with `unavailable` when the server stays away.
 */
import { StringDecoder } from 'node:string_decoder';
import { setTimeout as sleep } from 'node:timers/promises';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { AnnalsError, UnavailableError } from '../store/errors.js';
import type { Subscription, SubscriptionMessage } from '../store/model.js';
import { subscriptionOf } from '../store/reading.js';
import { recordedFromJson, type ProblemJson, type RecordedEventJson } from '../protocol/wire.js';
import { errorFromProblem } from './problems.js';
import type { Transport } from './transport.js';

const reconnectDelaysMs = [50, 250, 1000, 2000];

/** Runs until `controller` aborts (closing the subscription does that), or fails; it aborts it on the way out. */
export const openSubscription = (transport: Transport, path: string, controller: AbortController): Subscription => {
  let lastEventId: string | undefined;
  let caughtUp = false;

  async function* connection(): AsyncGenerator<SubscriptionMessage, 'ended'> {
    const headers: Record<string, string> = lastEventId === undefined ? {} : { 'last-event-id': lastEventId };
    const { body } = await transport.open({ method: 'GET', path, accept: 'text/event-stream', headers, signal: controller.signal });
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
            continue;
          }
          const event = recordedFromJson(JSON.parse(message.data) as RecordedEventJson);
          lastEventId = message.id;
          yield event;
        }
      }
    } finally {
      body.destroy();
    }
    return 'ended';
  }

  async function* messages(): AsyncGenerator<SubscriptionMessage> {
    let failures = 0;
    try {
      while (!controller.signal.aborted) {
        try {
          const delivered = lastEventId;
          yield* connection();
          if (lastEventId !== delivered) failures = 0;
        } catch (error) {
          if (controller.signal.aborted) return;
          if (error instanceof AnnalsError && error.code !== 'unavailable') throw error;
          if (failures === reconnectDelaysMs.length) {
            throw error instanceof AnnalsError ? error : new UnavailableError(`the subscription was cut off: ${(error as Error).message}`);
          }
        }
        const delay = reconnectDelaysMs[Math.min(failures++, reconnectDelaysMs.length - 1)];
        await sleep(delay, undefined, { signal: controller.signal }).catch(() => undefined);
      }
    } finally {
      controller.abort();
    }
  }

  return subscriptionOf(messages(), controller);
};
