/**
 * A subscription over Server-Sent Events. When the connection drops, it reconnects with `Last-Event-ID`
 * (the position of the last event, or checkpoint, it received), so the caller sees neither a gap nor a
 * repeat, and the end of history only once. It tries again as the retry policy says (by default for as
 * long as it is open), starting the count over after every successful reconnect, and reports each change
 * of state to `onStatus`.
 */
import { StringDecoder } from 'node:string_decoder';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { AnnalsError, ConflictError, UnavailableError } from '../store/errors.js';
import type { RetryPolicy, StoreIdentity, SubscriptionMessage, SubscriptionStatus } from '../store/model.js';
import { createRetries } from '../store/retries.js';
import { identityFromHeaders, recordedFromJson, type ProblemJson, type RecordedEventJson } from '../protocol/wire.js';
import { errorFromProblem } from './problems.js';
import type { Transport } from './transport.js';

export interface SubscriptionOptions {
  retry: Required<RetryPolicy>;
  onStatus: ((status: SubscriptionStatus) => void) | undefined;
  /** Yield `{ checkpoint }` for the server's `event: checkpoint` messages. */
  checkpoints: boolean;
  /** The position the subscription starts after, once known (a subscription to `$all`); 0 otherwise. */
  startPosition: () => bigint;
}

/** The messages of a subscription, until `signal` aborts (closing the subscription does that) or it fails. */
export async function* subscriptionMessages(
  transport: Transport,
  /** The path to subscribe to, worked out before each connection (it may need a read of its own). */
  path: () => Promise<string>,
  signal: AbortSignal,
  options: SubscriptionOptions,
): AsyncGenerator<SubscriptionMessage> {
  const { retry, onStatus, checkpoints } = options;
  let lastEventId: string | undefined;
  let caughtUp = false;
  /** The store and epoch of the first connection: where the cursor was taken. */
  let origin: StoreIdentity | undefined;
  /**
   * A reconnection may reach another server (a balancer, a promoted replica) or a restored store. The cursor
   * still holds in the same epoch, and in a later one up to where it began; anything else is a conflict.
   */
  const checkOrigin = (identity: StoreIdentity | undefined) => {
    if (identity === undefined) return;
    origin ??= identity;
    const cursor = lastEventId === undefined ? options.startPosition() : BigInt(lastEventId);
    const same = identity.storeId === origin.storeId && (identity.epoch === origin.epoch || cursor <= identity.epochStart);
    if (!same) {
      throw new ConflictError(
        `the subscription reconnected to store ${identity.storeId} epoch ${identity.epoch} (from position ${identity.epochStart}); ` +
          `its cursor ${cursor} was taken on store ${origin.storeId} epoch ${origin.epoch}, and may mean other events there`,
      );
    }
    origin = identity;
  };
  const retries = createRetries(retry, onStatus, signal);

  async function* connection(): AsyncGenerator<SubscriptionMessage> {
    const headers: Record<string, string> = lastEventId === undefined ? {} : { 'last-event-id': lastEventId };
    const { body, headers: answered } = await transport.open({
      method: 'GET',
      path: await path(),
      accept: 'text/event-stream',
      headers,
      signal,
    });
    try {
      checkOrigin(identityFromHeaders(answered));
    } catch (error) {
      body.destroy();
      throw error;
    }
    retries.succeeded();
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

  while (!signal.aborted) {
    try {
      yield* connection();
    } catch (caught) {
      if (signal.aborted) return;
      if (caught instanceof AnnalsError && caught.code !== 'unavailable') throw caught;
      await retries.failed(
        caught instanceof UnavailableError
          ? caught
          : new UnavailableError(`the subscription was cut off: ${(caught as Error).message}`, { cause: caught }),
      );
    }
  }
}
