/**
 * The in-memory engine: the reference model of the write semantics, used by tests (and property tests
 * compare every other engine with it). Nothing survives the process.
 */
import { randomUUID } from 'node:crypto';
import { createChangeFeed } from '../../store/change-feed.js';
import type { EngineCore } from '../../store/engine.js';
import { StreamDeletedError } from '../../store/errors.js';
import { changeOf, checkImportBatch, eventOfRecord } from '../../store/importing.js';
import {
  isSystemStream,
  systemStreamOf,
  type AppendResult,
  type StoreIdentity,
  type StreamAcl,
  type StreamMetadata,
} from '../../store/model.js';

import {
  absentStream,
  compareNames,
  streamInfo,
  checkWrite,
  deletedEvent,
  metadataEvent,
  replayedAppend,
  visibleWindow,
  type StoredEvent,
  type StreamState,
} from '../../store/rules.js';
import type { AllQuery, PreparedEvent, StreamQuery } from '../../store/validate.js';
import { matchesFilter } from '../../store/filter.js';
import { createMemoryGroups } from './groups.js';
import { createMemorySnapshots } from './snapshots.js';
import { createMemoryProjections } from './projections.js';

interface MemoryEvent extends StoredEvent {
  recordedAt: number;
}

interface MemoryStream extends StreamState {
  events: MemoryEvent[];
  metadata: StreamMetadata;
}

export const createMemoryEngine = (): EngineCore => {
  const streams = new Map<string, MemoryStream>();
  /** The log in position order; soft-deleted and tombstoned events are removed from it. */
  let log: MemoryEvent[] = [];
  const byId = new Map<string, MemoryEvent>();
  const byPosition = new Map<bigint, MemoryEvent>();
  let lastPosition = 0n;
  let identity: StoreIdentity = { storeId: randomUUID(), epoch: 1, epochStart: 0n };
  const changes = createChangeFeed();
  const snapshots = createMemorySnapshots((name) => {
    const stream = streams.get(name);
    return {
      tombstoned: stream?.tombstoned ?? false,
      live: stream?.exists ?? false,
      first: stream?.events[0]?.revision ?? 0,
      last: stream?.revision ?? -1,
    };
  });

  const streamOf = (name: string): MemoryStream => {
    let stream = streams.get(name);
    if (stream === undefined) {
      stream = { ...absentStream, events: [], metadata: {} };
      streams.set(name, stream);
    }
    return stream;
  };

  const removeEvents = (stream: MemoryStream) => {
    const removed = new Set(stream.events);
    for (const event of stream.events) {
      byId.delete(event.id);
      byPosition.delete(event.position);
    }
    log = log.filter((event) => !removed.has(event));
    stream.events = [];
    stream.exists = false;
  };

  const store = (stream: MemoryStream, stored: MemoryEvent) => {
    stream.events.push(stored);
    stream.revision = stored.revision;
    stream.exists = true;
    log.push(stored);
    byId.set(stored.id, stored);
    byPosition.set(stored.position, stored);
    lastPosition = stored.position;
  };

  /** Writes events at the end of a stream that may take them (checked by the caller). */
  const write = (name: string, events: PreparedEvent[]): AppendResult => {
    const stream = streamOf(name);
    const recordedAt = Date.now();
    for (const event of events)
      store(stream, { ...event, stream: name, revision: stream.revision + 1, position: lastPosition + 1n, recordedAt });
    return { revision: stream.revision, position: lastPosition, recordedAt: new Date(recordedAt) };
  };

  const selectAll = ({ from, to = lastPosition, direction, limit, filter }: AllQuery): MemoryEvent[] => {
    const selected =
      direction === 'forwards'
        ? log.filter((event) => event.position >= from && event.position <= to)
        : log.filter((event) => event.position <= from).reverse();
    const result: MemoryEvent[] = [];
    for (const event of selected) {
      if (result.length === limit) break;
      if (matchesFilter(filter, event.stream, event.type)) result.push(event);
    }
    return result;
  };

  return {
    name: 'memory',
    changes,
    groups: createMemoryGroups((position) => {
      const event = byPosition.get(position);
      return event === undefined ? undefined : eventOfRecord(event);
    }),
    snapshots,
    projections: createMemoryProjections(),
    async append(name, events, expected): Promise<AppendResult> {
      const stream = streamOf(name);
      if (stream.tombstoned) throw new StreamDeletedError(name);
      const found = events.map((event) => byId.get(event.id)).filter((event) => event !== undefined);
      if (found.length > 0) {
        return replayedAppend(name, expected, events, found, stream, stream.events[0]?.revision ?? stream.revision + 1);
      }
      checkWrite(name, expected, stream);
      const result = write(name, events);
      changes.advance(lastPosition);
      return result;
    },

    async readStream(name, { from, direction, limit }: StreamQuery) {
      const stream = streams.get(name);
      if (stream === undefined) return [];
      if (stream.tombstoned) throw new StreamDeletedError(name);
      const { minRevision, minRecordedAt } = visibleWindow(stream.metadata, stream.revision);
      const visible = stream.events.filter((event) => event.revision >= minRevision && event.recordedAt >= minRecordedAt);
      const selected =
        direction === 'forwards'
          ? visible.filter((event) => event.revision >= from)
          : visible.filter((event) => event.revision <= from).reverse();
      return selected.slice(0, limit).map(eventOfRecord);
    },

    readAll: async (query: AllQuery) => selectAll(query).map(eventOfRecord),
    readAllRecords: async (query: AllQuery) => selectAll(query).map((event) => ({ ...event })),

    async readEvent(id) {
      const event = byId.get(id);
      return event === undefined ? undefined : eventOfRecord(event);
    },

    async getMetadata(name) {
      const stream = streams.get(name);
      if (stream?.tombstoned) throw new StreamDeletedError(name);
      return structuredClone(stream?.metadata ?? {});
    },

    async listStreams({ prefix, after, limit }) {
      return [...streams.entries()]
        .filter(
          ([name, stream]) =>
            stream.revision >= 0 &&
            (!isSystemStream(name) || isSystemStream(prefix ?? '')) &&
            (prefix === undefined || name.startsWith(prefix)) &&
            (after === undefined || compareNames(name, after) > 0),
        )
        .sort(([a], [b]) => compareNames(a, b))
        .slice(0, limit)
        .map(([name, stream]) => streamInfo(name, stream.revision, stream.events.at(-1)?.position, stream.exists, stream.tombstoned));
    },

    async readAcls() {
      const acls = new Map<string, StreamAcl>();
      for (const [name, stream] of streams) if (stream.metadata.acl !== undefined) acls.set(name, structuredClone(stream.metadata.acl));
      return acls;
    },

    async setMetadata(name, metadata, expected) {
      const stream = streamOf(name);
      if (stream.tombstoned) throw new StreamDeletedError(name);
      const system = systemStreamOf(name);
      checkWrite(system, expected, streams.get(system) ?? absentStream);
      stream.metadata = structuredClone(metadata);
      write(system, [metadataEvent(metadata)]);
      changes.advance(lastPosition);
    },

    async deleteStream(name, expected, hard) {
      const stream = streamOf(name);
      checkWrite(name, expected, stream);
      removeEvents(stream);
      snapshots.forget(name);
      if (hard) stream.tombstoned = true;
      write(systemStreamOf(name), [deletedEvent(hard, stream.revision)]);
      changes.advance(lastPosition);
    },

    async importEvents(events, keepPositions) {
      checkImportBatch(events, {
        stateOf: (name) => streams.get(name) ?? absentStream,
        idTaken: (id) => byId.has(id),
        head: lastPosition,
        keepPositions,
      });
      for (const event of events) {
        const position = keepPositions ? event.position : lastPosition + 1n;
        store(streamOf(event.stream), { ...event, position });
        const change = changeOf(event);
        if (change === undefined) continue;
        const subject = streamOf(change.stream);
        if (change.kind === 'metadata') {
          subject.metadata = JSON.parse(change.metadata) as StreamMetadata;
          continue;
        }
        removeEvents(subject);
        snapshots.forget(change.stream);
        subject.revision = change.lastRevision;
        subject.tombstoned = change.hard;
      }
      changes.advance(lastPosition);
      return lastPosition;
    },

    async headPosition() {
      return lastPosition;
    },

    async identity() {
      return identity;
    },

    async setIdentity(next) {
      identity = next;
    },

    async probeWrite() {},

    async stats() {
      const live = [...streams.entries()].filter(([name, stream]) => stream.exists && !isSystemStream(name)).length;
      const events = log.filter((event) => !isSystemStream(event.stream)).length;
      return { engine: 'memory', events, streams: live, headPosition: lastPosition, ...identity, disk: { usedBytes: 0 } };
    },

    // Nothing is on disk.
    diskUsage: async () => ({ usedBytes: 0 }),

    // The log as it is now, taken in one step (stored events never change, so the list is enough).
    async backup() {
      const copy = [...log];
      async function* pages() {
        for (let start = 0; start < copy.length; start += 1000) yield copy.slice(start, start + 1000).map(eventOfRecord);
      }
      return { format: 'events', ...identity, headPosition: lastPosition, pages: pages(), close: async () => undefined };
    },

    async close() {
      changes.close();
    },
  };
};
