/**
 * The one wrapper that turns a store core into the full `EventStore`: every argument checked by the rules
 * of validate.ts before the core sees it, a closed store refusing calls, and open subscriptions ended when
 * the store closes. The embedded store (over an engine) and the client (over HTTP) are both this wrapper
 * around a core of their own, so a method is checked in one place whichever way it is called. Upcasters, when
 * given, are applied here too, to everything read or delivered, for the same reason (upcasting.ts).
 */
import { wrapGroups, type GroupsCore } from '../bus/groups/wrap-groups.js';
import { wrapSnapshots, type SnapshotsCore } from '../command/snapshots/wrap-snapshots.js';
import { wrapProjections, type ProjectionsCore } from '../projection/registry/wrap-projections.js';
import { UnavailableError } from './errors.js';
import type { EventStore } from './event-store.js';
import type { Limits } from './limits.js';
import type {
  AllFilter,
  AppendResult,
  EventRecord,
  ExpectedRevision,
  ImportResult,
  RecordedEvent,
  DiskUsage,
  StoreBackup,
  StoreIdentity,
  StoreStats,
  StreamAcl,
  StreamInfo,
  StreamMetadata,
  Subscription,
  SubscriptionMessage,
} from './model.js';
import { isEvent } from './model.js';
import { prepareImport } from './importing.js';
import { subscriptionOf } from './reading.js';
import { keptBy, upcastEvent, widenFilter, type Upcasters } from './upcasting.js';
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
  iterateAllRecords(query: AllQuery): AsyncIterable<EventRecord>;
  /** Messages until `signal` aborts, which is how the wrapper ends a subscription. */
  subscribe(query: SubscribeQuery, signal: AbortSignal): AsyncGenerator<SubscriptionMessage>;
  getMetadata(stream: string): Promise<StreamMetadata>;
  setMetadata(stream: string, metadata: StreamMetadata, expected: ExpectedRevision): Promise<void>;
  deleteStream(stream: string, expected: ExpectedRevision, hard: boolean): Promise<void>;
  listStreams(query: StreamListQuery): Promise<StreamInfo[]>;
  readAcls(): Promise<Map<string, StreamAcl>>;
  stats(): Promise<StoreStats>;
  diskUsage(): Promise<DiskUsage>;
  backup(): Promise<StoreBackup>;
  importEvents(batch: ReturnType<typeof prepareImport>): Promise<ImportResult>;
  startEpoch(): Promise<StoreIdentity>;
  identity(): Promise<StoreIdentity>;
  probeWrite(): Promise<void>;
  groups: GroupsCore;
  snapshots: SnapshotsCore;
  projections: ProjectionsCore;
  close(): Promise<void>;
}

/** Events upcast, and kept only when of a type the caller asked for (`asked`), up to `limit` of them. */
async function* upcastEach(
  upcast: (event: RecordedEvent) => RecordedEvent,
  events: AsyncIterable<RecordedEvent>,
  asked: AllFilter | undefined,
  limit: number,
): AsyncGenerator<RecordedEvent> {
  let kept = 0;
  for await (const stored of events) {
    const event = upcast(stored);
    if (!keptBy(asked, event)) continue;
    yield event;
    if (++kept >= limit) return;
  }
}

const collect = async (events: AsyncIterable<RecordedEvent>) => {
  const all: RecordedEvent[] = [];
  for await (const event of events) all.push(event);
  return all;
};

export const wrapStore = (core: StoreCore, limits: Limits, upcasters?: Upcasters): EventStore => {
  let closed = false;
  const subscriptions = new Set<AbortController>();
  const open = () => {
    if (closed) throw new UnavailableError('the event store is closed');
  };
  const upcast = (event: RecordedEvent) => (upcasters === undefined ? event : upcastEvent(upcasters, event));
  /**
   * A `$all` read as the core runs it. With types asked for, the core reads the widened types and events
   * are dropped once upcast, so it reads without a limit and `upcastEach` stops at the caller's.
   */
  const allEvents = (query: AllQuery): AsyncIterable<RecordedEvent> => {
    if (upcasters === undefined) return core.iterateAll(query);
    if (query.filter?.types === undefined) return upcastEach(upcast, core.iterateAll(query), undefined, query.limit);
    const widened = { ...query, filter: widenFilter(upcasters, query.filter), limit: Number.MAX_SAFE_INTEGER };
    return upcastEach(upcast, core.iterateAll(widened), query.filter, query.limit);
  };

  return {
    async append(stream, events, options) {
      open();
      const name = checkWritableStream(stream);
      return core.append(name, prepareEvents(events, limits), checkExpectedRevision(options?.expectedRevision));
    },
    async readStream(stream, options) {
      open();
      return (await core.readStream(checkStreamName(stream), checkStreamQuery(options))).map(upcast);
    },
    async readAll(options) {
      open();
      const query = checkAllQuery(options);
      if (upcasters !== undefined && query.filter?.types !== undefined) return collect(allEvents(query));
      return (await core.readAll(query)).map(upcast);
    },
    async readEvent(id) {
      open();
      const event = await core.readEvent(checkEventId(id));
      return event === undefined ? undefined : upcast(event);
    },
    iterateStream(stream, options) {
      open();
      const events = core.iterateStream(checkStreamName(stream), checkStreamQuery(options));
      return upcasters === undefined ? events : upcastEach(upcast, events, undefined, Number.MAX_SAFE_INTEGER);
    },
    iterateAll(options) {
      open();
      return allEvents(checkAllQuery(options));
    },
    iterateAllRecords(options) {
      open();
      return core.iterateAllRecords(checkAllQuery(options));
    },
    subscribe(options = {}): Subscription {
      open();
      const { signal, ...query } = checkSubscribeOptions(options);
      const asked = query.filter;
      const widened = upcasters === undefined ? query : { ...query, filter: widenFilter(upcasters, asked) };
      const controller = new AbortController();
      subscriptions.add(controller);
      signal?.addEventListener('abort', () => controller.abort(), { once: true });
      async function* messages(): AsyncGenerator<SubscriptionMessage> {
        try {
          const source = core.subscribe(widened, controller.signal);
          if (upcasters === undefined) yield* source;
          else {
            for await (const message of source) {
              if (!isEvent(message)) yield message;
              else {
                const event = upcast(message);
                if (keptBy(asked, event)) yield event;
              }
            }
          }
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
    async setMetadata(stream, metadata, options) {
      open();
      return core.setMetadata(checkWritableStream(stream), checkStreamMetadata(metadata), checkExpectedRevision(options?.expectedRevision));
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
    async diskUsage() {
      open();
      return core.diskUsage();
    },
    async backup() {
      open();
      return core.backup();
    },
    async importEvents(events, options) {
      open();
      return core.importEvents(prepareImport(events, options, limits));
    },
    async startEpoch() {
      open();
      return core.startEpoch();
    },
    async identity() {
      open();
      return core.identity();
    },
    async probeWrite() {
      open();
      return core.probeWrite();
    },
    groups: wrapGroups(core.groups, open, upcasters),
    // A snapshot may be as large as the largest append: what the server's body limit already admits.
    snapshots: wrapSnapshots(core.snapshots, open, limits.maxAppendBytes),
    projections: wrapProjections(core.projections, open),
    async close() {
      if (closed) return;
      closed = true;
      for (const controller of subscriptions) controller.abort();
      await core.close();
    },
  };
};
