import { UnavailableError } from './errors.js';
import type { EngineCore } from './engine.js';
import type { EventStore } from './event-store.js';
import { defaultLimits, type Limits } from './limits.js';
import type { RecordedEvent, SubscribeOptions, Subscription, SubscriptionMessage } from './model.js';
import { follow, pageSize, pagesOfAll, pagesOfStream, subscriptionOf } from './reading.js';
import {
  checkAllQuery,
  checkExpectedRevision,
  checkStreamMetadata,
  checkStreamName,
  checkStreamQuery,
  checkSubscribeOptions,
  checkWritableStream,
  maxPosition,
  prepareEvents,
} from './validate.js';

/** Wraps an engine into the full `EventStore`: argument checks, long reads, subscriptions, closing. */
export const createEventStore = (engine: EngineCore, limits: Limits = defaultLimits): EventStore => {
  let closed = false;
  const subscriptions = new Set<AbortController>();
  const open = () => {
    if (closed) throw new UnavailableError('the event store is closed');
  };

  const subscribe = (options: SubscribeOptions = {}): Subscription => {
    open();
    const { stream, filter, from, signal } = checkSubscribeOptions(options);
    const controller = new AbortController();
    subscriptions.add(controller);
    signal?.addEventListener('abort', () => controller.abort(), { once: true });

    async function* messages(): AsyncGenerator<SubscriptionMessage> {
      try {
        if (stream !== undefined) {
          const last = async () => (await engine.readStream(stream, { from: Number.MAX_SAFE_INTEGER, direction: 'backwards', limit: 1 }))[0];
          const start = from === 'start' ? -1 : from === 'end' ? ((await last())?.revision ?? -1) : Number(from);
          yield* follow({
            changes: engine.changes,
            start,
            readAfter: (after) => engine.readStream(stream, { from: after + 1, direction: 'forwards', limit: pageSize }),
            cursorOf: (event: RecordedEvent) => event.revision,
            signal: controller.signal,
          });
        } else {
          const last = async () => (await engine.readAll({ from: maxPosition, direction: 'backwards', limit: 1, filter: undefined }))[0];
          const start = from === 'start' ? 0n : from === 'end' ? ((await last())?.position ?? 0n) : from;
          yield* follow({
            changes: engine.changes,
            start,
            readAfter: (after) => engine.readAll({ from: after + 1n, direction: 'forwards', limit: pageSize, filter }),
            cursorOf: (event: RecordedEvent) => event.position,
            signal: controller.signal,
          });
        }
      } finally {
        subscriptions.delete(controller);
      }
    }
    return subscriptionOf(messages(), controller);
  };

  return {
    async append(stream, events, options) {
      open();
      const name = checkWritableStream(stream);
      const expected = checkExpectedRevision(options?.expectedRevision);
      return engine.append(name, prepareEvents(events, limits), expected);
    },
    async readStream(stream, options) {
      open();
      return engine.readStream(checkStreamName(stream), checkStreamQuery(options));
    },
    async readAll(options) {
      open();
      return engine.readAll(checkAllQuery(options));
    },
    iterateStream(stream, options) {
      open();
      const name = checkStreamName(stream);
      return pagesOfStream((query) => engine.readStream(name, query), checkStreamQuery(options));
    },
    iterateAll(options) {
      open();
      return pagesOfAll((query) => engine.readAll(query), checkAllQuery(options));
    },
    subscribe,
    async getMetadata(stream) {
      open();
      return engine.getMetadata(checkStreamName(stream));
    },
    async setMetadata(stream, metadata) {
      open();
      return engine.setMetadata(checkWritableStream(stream), checkStreamMetadata(metadata));
    },
    async deleteStream(stream, options) {
      open();
      return engine.deleteStream(checkWritableStream(stream), checkExpectedRevision(options?.expectedRevision), false);
    },
    async tombstoneStream(stream, options) {
      open();
      return engine.deleteStream(checkWritableStream(stream), checkExpectedRevision(options?.expectedRevision), true);
    },
    async stats() {
      open();
      return engine.stats();
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const controller of subscriptions) controller.abort();
      await engine.close();
    },
  };
};
