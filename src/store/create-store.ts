import { UnavailableError } from './errors.js';
import type { EngineCore } from './engine.js';
import type { EventStore } from './event-store.js';
import { defaultLimits, type Limits } from './limits.js';
import { createLiveTail } from './live-tail.js';
import type { SubscribeOptions, Subscription, SubscriptionMessage } from './model.js';
import { pageSize, pagesOfAll, pagesOfStream, subscriptionOf } from './reading.js';
import { followAll, followStream } from './subscriptions.js';
import {
  checkAllQuery,
  checkListStreamsOptions,
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

  const tail = createLiveTail({
    changes: engine.changes,
    readAfter: (after, to, limit) => engine.readAll({ from: after + 1n, to, direction: 'forwards', limit, filter: undefined }),
    pageSize,
  });

  const subscribe = (options: SubscribeOptions = {}): Subscription => {
    open();
    const { stream, filter, from, signal, checkpoints, retry, onStatus } = checkSubscribeOptions(options);
    const controller = new AbortController();
    subscriptions.add(controller);
    signal?.addEventListener('abort', () => controller.abort(), { once: true });
    const following = { changes: engine.changes, tail, signal: controller.signal, retry, onStatus };

    async function* messages(): AsyncGenerator<SubscriptionMessage> {
      try {
        if (stream !== undefined) {
          const last = async () => (await engine.readStream(stream, { from: Number.MAX_SAFE_INTEGER, direction: 'backwards', limit: 1 }))[0];
          const start = from === 'start' ? -1 : from === 'end' ? ((await last())?.revision ?? -1) : Number(from);
          yield* followStream(following, { stream, start, read: (query) => engine.readStream(stream, query) });
        } else {
          const last = async () => (await engine.readAll({ from: maxPosition, direction: 'backwards', limit: 1, filter: undefined }))[0];
          const start = from === 'start' ? 0n : from === 'end' ? ((await last())?.position ?? 0n) : from;
          yield* followAll(following, { filter, start, checkpoints, read: (query) => engine.readAll(query) });
        }
      } catch (error) {
        if (!controller.signal.aborted) throw error;
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
    async listStreams(options) {
      open();
      return engine.listStreams(checkListStreamsOptions(options));
    },
    async readAcls() {
      open();
      return engine.readAcls();
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
      tail.close();
      await engine.close();
    },
  };
};
