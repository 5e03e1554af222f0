/**
 * The one wrapper that turns a store core into the full `EventStore`: every argument checked by the rules
 * of validate.ts before the core sees it, a closed store refusing calls, and open subscriptions ended when
 * the store closes. The embedded store (over an engine) and the client (over HTTP) are both this wrapper
 * around a core of their own, so a method is checked in one place whichever way it is called.
 */
import { wrapGroups, type GroupsCore } from '../bus/groups/wrap-groups.js';
import { wrapSnapshots, type SnapshotsCore } from '../command/snapshots/wrap-snapshots.js';
import { UnavailableError } from './errors.js';
import type { EventStore } from './event-store.js';
import type { Limits } from './limits.js';
import type {
  AppendResult,
  ExpectedRevision,
  RecordedEvent,
  StoreStats,
  StreamAcl,
  StreamInfo,
  StreamMetadata,
  Subscription,
  SubscriptionMessage,
} from './model.js';
import { subscriptionOf } from './reading.js';
import {
  checkAllQuery,
  checkEventId,
  checkExpectedRevision,
  checkListStreamsOptions,
  checkStreamMetadata,
  checkStreamName,
  checkStreamQuery,
  checkSubscribeOptions,
  checkWritableStream,
  prepareEvents,
  type AllQuery,
  type PreparedEvent,
  type StreamListQuery,
  type StreamQuery,
} from './validate.js';

/** A subscription's checked options, less the caller's signal (the wrapper gives the core its own). */
export type SubscribeQuery = Omit<ReturnType<typeof checkSubscribeOptions>, 'signal'>;

/** What a store does once its arguments are checked. */
export interface StoreCore {
  append(stream: string, events: PreparedEvent[], expected: ExpectedRevision): Promise<AppendResult>;
  readStream(stream: string, query: StreamQuery): Promise<RecordedEvent[]>;
  readAll(query: AllQuery): Promise<RecordedEvent[]>;
  readEvent(id: string): Promise<RecordedEvent | undefined>;
  iterateStream(stream: string, query: StreamQuery): AsyncIterable<RecordedEvent>;
  iterateAll(query: AllQuery): AsyncIterable<RecordedEvent>;
  /** Messages until `signal` aborts, which is how the wrapper ends a subscription. */
  subscribe(query: SubscribeQuery, signal: AbortSignal): AsyncGenerator<SubscriptionMessage>;
  getMetadata(stream: string): Promise<StreamMetadata>;
  setMetadata(stream: string, metadata: StreamMetadata): Promise<void>;
  deleteStream(stream: string, expected: ExpectedRevision, hard: boolean): Promise<void>;
  listStreams(query: StreamListQuery): Promise<StreamInfo[]>;
  readAcls(): Promise<Map<string, StreamAcl>>;
  stats(): Promise<StoreStats>;
  groups: GroupsCore;
  snapshots: SnapshotsCore;
  close(): Promise<void>;
}

export const wrapStore = (core: StoreCore, limits: Limits): EventStore => {
  let closed = false;
  const subscriptions = new Set<AbortController>();
  const open = () => {
    if (closed) throw new UnavailableError('the event store is closed');
  };

  return {
    async append(stream, events, options) {
      open();
      const name = checkWritableStream(stream);
      return core.append(name, prepareEvents(events, limits), checkExpectedRevision(options?.expectedRevision));
    },
    async readStream(stream, options) {
      open();
      return core.readStream(checkStreamName(stream), checkStreamQuery(options));
    },
    async readAll(options) {
      open();
      return core.readAll(checkAllQuery(options));
    },
    async readEvent(id) {
      open();
      return core.readEvent(checkEventId(id));
    },
    iterateStream(stream, options) {
      open();
      return core.iterateStream(checkStreamName(stream), checkStreamQuery(options));
    },
    iterateAll(options) {
      open();
      return core.iterateAll(checkAllQuery(options));
    },
    subscribe(options = {}): Subscription {
      open();
      const { signal, ...query } = checkSubscribeOptions(options);
      const controller = new AbortController();
      subscriptions.add(controller);
      signal?.addEventListener('abort', () => controller.abort(), { once: true });
      async function* messages(): AsyncGenerator<SubscriptionMessage> {
        try {
          yield* core.subscribe(query, controller.signal);
        } catch (error) {
          if (!controller.signal.aborted) throw error;
        } finally {
          subscriptions.delete(controller);
          controller.abort();
        }
      }
      return subscriptionOf(messages(), controller);
    },
    async getMetadata(stream) {
      open();
      return core.getMetadata(checkStreamName(stream));
    },
    async setMetadata(stream, metadata) {
      open();
      return core.setMetadata(checkWritableStream(stream), checkStreamMetadata(metadata));
    },
    async deleteStream(stream, options) {
      open();
      return core.deleteStream(checkWritableStream(stream), checkExpectedRevision(options?.expectedRevision), false);
    },
    async tombstoneStream(stream, options) {
      open();
      return core.deleteStream(checkWritableStream(stream), checkExpectedRevision(options?.expectedRevision), true);
    },
    async listStreams(options) {
      open();
      return core.listStreams(checkListStreamsOptions(options));
    },
    async readAcls() {
      open();
      return core.readAcls();
    },
    async stats() {
      open();
      return core.stats();
    },
    groups: wrapGroups(core.groups, open),
    // A snapshot may be as large as the largest append: what the server's body limit already admits.
    snapshots: wrapSnapshots(core.snapshots, open, limits.maxAppendBytes),
    async close() {
      if (closed) return;
      closed = true;
      for (const controller of subscriptions) controller.abort();
      await core.close();
    },
  };
};
