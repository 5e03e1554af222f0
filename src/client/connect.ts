/**
 * `connect(url, { token })`: the `EventStore` of a remote Annals server. Arguments are checked here with
 * the store's own rules before anything is sent, so a bad call fails the same way as on the embedded
 * store; the server checks again and enforces its limits. Ids of new events are generated here, so an
 * append retried after a lost answer is recognised by the server as the same append.
 */
import type { EventStore } from '../store/event-store.js';
import type { AllFilter, RecordedEvent, StreamAcl, StreamInfo, StreamMetadata } from '../store/model.js';
import { NotFoundError } from '../store/errors.js';
import { recordOf } from '../store/importing.js';
import { pageSize } from '../store/reading.js';
import { maxPosition, type AllQuery, type StreamQuery } from '../store/validate.js';
import { checkUpcasters, type Upcasters } from '../store/upcasting.js';
import { wrapStore, type StoreCore } from '../store/wrap-store.js';
import {
  appendResultFromJson,
  ndjsonType,
  recordedFromJson,
  statsFromJson,
  streamInfoFromJson,
  type StreamListJson,
  type AppendResultJson,
  type StoreStatsJson,
  type IdentityJson,
  type RecordedEventJson,
  type EventPageJson,
} from '../protocol/wire.js';
import { remoteBackup } from './backup.js';
import { remoteGroups } from './groups.js';
import { ndjsonEvents } from './ndjson.js';
import { StreamNotFoundError } from './problems.js';
import { subscriptionMessages } from './subscription.js';
import { remoteSnapshots } from './snapshots.js';
import { remoteProjections } from './projections.js';
import { createTransport, queryString, type TransportOptions } from './transport.js';

export interface ConnectOptions extends TransportOptions {
  /** Turn old stored events into today's shape as they are read, here in the client (DESIGN.md section 8). */
  upcasters?: Upcasters;
}

/** The server enforces its own limits; the client only checks what every server refuses. */
const unbounded = { maxEventBytes: Infinity, maxAppendBytes: Infinity, maxAppendEvents: Infinity };

/** Events asked for in each page of a long stream after the first. */
const longPageSize = 10_000;

const streamPath = (stream: string) => `/streams/${encodeURIComponent(stream)}`;

const filterParams = (filter: AllFilter | undefined) => ({
  types: filter?.types,
  streams: filter?.streams,
  category: filter?.category,
  includeSystem: filter?.includeSystem ? 'true' : undefined,
});

const collect = async (events: AsyncIterable<RecordedEvent>) => {
  const all: RecordedEvent[] = [];
  for await (const event of events) all.push(event);
  return all;
};

/** A checked stream query as the HTTP API spells it: the end and "no limit" are left to the server's defaults. */
const streamQueryParams = ({ from, direction, limit }: StreamQuery) => ({
  from: from === Number.MAX_SAFE_INTEGER ? 'end' : from,
  direction,
  limit: limit === Number.MAX_SAFE_INTEGER ? undefined : limit,
});

const allQueryParams = ({ from, direction, limit, filter }: AllQuery) => ({
  from: from === maxPosition ? 'end' : from,
  direction,
  limit: limit === Number.MAX_SAFE_INTEGER ? undefined : limit,
  ...filterParams(filter),
});

export const connect = (url: string, options: ConnectOptions = {}): EventStore => {
  const { upcasters, ...transportOptions } = options;
  const checkedUpcasters = checkUpcasters(upcasters);
  const transport = createTransport(url, transportOptions);

  /** An NDJSON read; an absent stream reads as no events. */
  async function* readLines(path: string): AsyncGenerator<RecordedEvent> {
    let body;
    try {
      ({ body } = await transport.open({ method: 'GET', path, accept: ndjsonType }));
    } catch (error) {
      if (error instanceof StreamNotFoundError) return;
      throw error;
    }
    yield* ndjsonEvents(body);
  }
  /**
   * A stream in JSON pages on the pool of short calls. Streams are mostly short (an aggregate's events),
   * and one JSON answer, written at once, costs the server about half of a streamed NDJSON one.
   */
  async function* streamPages(stream: string, query: StreamQuery): AsyncGenerator<RecordedEvent> {
    // After a full first page the stream is long: larger pages (the server caps them at its own maximum).
    for (let remaining = query.limit, from = query.from, size = pageSize; remaining > 0; size = longPageSize) {
      let page: EventPageJson;
      try {
        const params = streamQueryParams({ ...query, from, limit: Math.min(remaining, size) });
        page = await transport.call<EventPageJson>({ method: 'GET', path: `${streamPath(stream)}${queryString(params)}` });
      } catch (error) {
        if (error instanceof StreamNotFoundError) return;
        throw error;
      }
      for (const event of page.events) yield recordedFromJson(event);
      // A page ends early at the server's byte budget, with `next`; without `next` the read is done.
      if (page.next === undefined) return;
      remaining -= page.events.length;
      from = Number(page.next);
    }
  }
  const allLines = (query: AllQuery) => readLines(`/all${queryString(allQueryParams(query))}`);

  /** The revision of a stream's last event, or the position of the log's, as the caller may see them now. */
  const endOf = async (stream: string | undefined): Promise<bigint | number | 'start'> => {
    if (stream !== undefined) {
      const [last] = await collect(streamPages(stream, { from: Number.MAX_SAFE_INTEGER, direction: 'backwards', limit: 1 }));
      return last?.revision ?? 'start';
    }
    const [last] = await collect(allLines({ from: maxPosition, direction: 'backwards', limit: 1, filter: { includeSystem: true } }));
    return last?.position ?? 'start';
  };

  const core: StoreCore = {
    async append(stream, events, expected) {
      const body = `{"expectedRevision":${JSON.stringify(expected)},"events":[${events
        .map(
          (event) =>
            `{"id":"${event.id}","type":${JSON.stringify(event.type)},"data":${event.data}${event.metadata === null ? '' : `,"metadata":${event.metadata}`}}`,
        )
        .join(',')}]}`;
      return appendResultFromJson(await transport.call<AppendResultJson>({ method: 'POST', path: streamPath(stream), body }));
    },
    readStream: (stream, query) => collect(streamPages(stream, query)),
    readAll: (query) => collect(allLines(query)),
    async readEvent(id) {
      try {
        return recordedFromJson(await transport.call<RecordedEventJson>({ method: 'GET', path: `/events/${id}` }));
      } catch (error) {
        if (error instanceof NotFoundError) return undefined;
        throw error;
      }
    },
    iterateStream: streamPages,
    iterateAll: allLines,
    async *iterateAllRecords(query) {
      for await (const event of allLines(query)) yield recordOf(event);
    },
    subscribe({ stream, filter, from, retry, onStatus, checkpoints }, signal) {
      // 'end' is pinned to the last event once, before the first connection, as the embedded store does:
      // sent as 'end', a reconnect before the first event would skip what was appended during the outage.
      let start: bigint | number | 'start' | undefined = from === 'end' ? undefined : from;
      const path = async () => {
        start ??= await endOf(stream);
        return stream === undefined
          ? `/subscribe/all${queryString({ from: start, ...filterParams(filter) })}`
          : `/subscribe/streams/${encodeURIComponent(stream)}${queryString({ from: start })}`;
      };
      const startPosition = () => (stream === undefined && typeof start === 'bigint' ? start : 0n);
      return subscriptionMessages(transport, path, signal, { retry, onStatus, checkpoints, startPosition });
    },
    getMetadata: (stream) => transport.call<StreamMetadata>({ method: 'GET', path: `${streamPath(stream)}/metadata` }),
    async setMetadata(stream, metadata, expectedRevision) {
      await transport.call({
        method: 'PUT',
        path: `${streamPath(stream)}/metadata${expectedRevision === 'any' ? '' : queryString({ expectedRevision })}`,
        body: JSON.stringify(metadata),
      });
    },
    async deleteStream(stream, expectedRevision, hard) {
      await transport.call({
        method: 'DELETE',
        path: `${streamPath(stream)}${queryString({ expectedRevision, hard: hard ? 'true' : undefined })}`,
      });
    },
    async listStreams({ prefix, after, limit }) {
      const listed: StreamInfo[] = [];
      // The server leaves out streams the token may not read, so a page may hold fewer than asked.
      for (let cursor = after; listed.length < limit;) {
        const page = await transport.call<StreamListJson>({
          method: 'GET',
          path: `/streams${queryString({ prefix, after: cursor, limit: limit - listed.length })}`,
        });
        listed.push(...page.streams.map(streamInfoFromJson));
        if (page.next === undefined) break;
        cursor = page.next;
      }
      return listed;
    },
    readAcls: async () => new Map(Object.entries(await transport.call<Record<string, StreamAcl>>({ method: 'GET', path: '/acls' }))),
    stats: async () => statsFromJson(await transport.call<StoreStatsJson>({ method: 'GET', path: '/stats' })),
    probeWrite: async () => void (await transport.call({ method: 'GET', path: '/health/writable' })),
    diskUsage: async () => (await core.stats()).disk,
    backup: () => remoteBackup(transport),
    async importEvents({ events, keepPositions, source }) {
      const lines = events.map(
        (event) =>
          `{"id":"${event.id}","stream":${JSON.stringify(event.stream)},"revision":${event.revision},"position":"${event.position}",` +
          `"type":${JSON.stringify(event.type)},"data":${event.data}${event.metadata === null ? '' : `,"metadata":${event.metadata}`},` +
          `"recordedAt":"${new Date(event.recordedAt).toISOString()}"}`,
      );
      const sourceJson = source === undefined ? '' : `,"source":${JSON.stringify({ ...source, epochStart: String(source.epochStart) })}`;
      const body = `{"keepPositions":${keepPositions}${sourceJson},"events":[${lines.join(',')}]}`;
      const result = await transport.call<{ events: number; headPosition: string }>({ method: 'POST', path: '/import', body });
      return { events: result.events, headPosition: BigInt(result.headPosition) };
    },
    async identity() {
      const identity = await transport.call<IdentityJson>({ method: 'GET', path: '/identity' });
      return { ...identity, epochStart: BigInt(identity.epochStart) };
    },
    async startEpoch() {
      const identity = await transport.call<IdentityJson>({ method: 'POST', path: '/epoch' });
      return { ...identity, epochStart: BigInt(identity.epochStart) };
    },
    groups: remoteGroups(transport),
    snapshots: remoteSnapshots(transport),
    projections: remoteProjections(transport),
    close: () => transport.close(),
  };
  return wrapStore(core, unbounded, checkedUpcasters);
};
