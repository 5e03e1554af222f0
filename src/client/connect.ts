/**
 * `connect(url, { token })`: the `EventStore` of a remote Annals server. Arguments are checked here with
 * the store's own rules before anything is sent, so a bad call fails the same way as on the embedded
 * store; the server checks again and enforces its limits. Ids of new events are generated here, so an
 * append retried after a lost answer is recognised by the server as the same append.
 */
import { UnavailableError } from '../store/errors.js';
import type { EventStore } from '../store/event-store.js';
import type { AllFilter, ReadAllOptions, ReadStreamOptions, RecordedEvent, StreamAcl, StreamInfo, StreamMetadata } from '../store/model.js';
import {
  checkAllQuery,
  checkListStreamsOptions,
  checkExpectedRevision,
  checkStreamMetadata,
  checkStreamName,
  checkStreamQuery,
  checkSubscribeOptions,
  checkWritableStream,
  prepareEvents,
} from '../store/validate.js';
import {
  appendResultFromJson,
  ndjsonType,
  statsFromJson,
  streamInfoFromJson,
  type StreamListJson,
  type AppendResultJson,
  type StoreStatsJson,
} from '../protocol/wire.js';
import { ndjsonEvents } from './ndjson.js';
import { StreamNotFoundError } from './problems.js';
import { openSubscription } from './subscription.js';
import { createTransport, type TransportOptions } from './transport.js';

export type ConnectOptions = TransportOptions;

/** The server enforces its own limits; the client only checks what every server refuses. */
const unbounded = { maxEventBytes: Infinity, maxAppendBytes: Infinity, maxAppendEvents: Infinity };

const streamPath = (stream: string) => `/streams/${encodeURIComponent(stream)}`;

const queryString = (entries: Record<string, string | number | bigint | string[] | undefined>) => {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(entries)) {
    if (Array.isArray(value)) for (const item of value) params.append(key, item);
    else if (value !== undefined) params.append(key, String(value));
  }
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
};

const filterParams = (filter: AllFilter | undefined) => ({ types: filter?.types, streams: filter?.streams, category: filter?.category });

const collect = async (events: AsyncIterable<RecordedEvent>) => {
  const all: RecordedEvent[] = [];
  for await (const event of events) all.push(event);
  return all;
};

export const connect = (url: string, options: ConnectOptions = {}): EventStore => {
  const transport = createTransport(url, options);
  const subscriptions = new Set<AbortController>();
  let closed = false;
  const open = () => {
    if (closed) throw new UnavailableError('the event store is closed');
  };

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

  const streamReadPath = (stream: string, options: ReadStreamOptions | undefined) => {
    open();
    checkStreamQuery(options);
    const { from, direction, limit } = options ?? {};
    return `${streamPath(checkStreamName(stream))}${queryString({ from, direction, limit })}`;
  };

  const allReadPath = (options: ReadAllOptions | undefined) => {
    open();
    const { filter } = checkAllQuery(options);
    const { from, direction, limit } = options ?? {};
    return `/all${queryString({ from, direction, limit, ...filterParams(filter) })}`;
  };

  return {
    async append(stream, events, appendOptions) {
      open();
      const name = checkWritableStream(stream);
      const expected = checkExpectedRevision(appendOptions?.expectedRevision);
      const prepared = prepareEvents(events, unbounded);
      const body = `{"expectedRevision":${JSON.stringify(expected)},"events":[${prepared
        .map((event) => `{"id":"${event.id}","type":${JSON.stringify(event.type)},"data":${event.data}${event.metadata === null ? '' : `,"metadata":${event.metadata}`}}`)
        .join(',')}]}`;
      return appendResultFromJson(await transport.call<AppendResultJson>({ method: 'POST', path: streamPath(name), body }));
    },
    async readStream(stream, readOptions) {
      return collect(readLines(streamReadPath(stream, readOptions)));
    },
    async readAll(readOptions) {
      return collect(readLines(allReadPath(readOptions)));
    },
    iterateStream(stream, readOptions) {
      return readLines(streamReadPath(stream, readOptions));
    },
    iterateAll(readOptions) {
      return readLines(allReadPath(readOptions));
    },
    subscribe(subscribeOptions = {}) {
      open();
      const { stream, filter, from, signal, retry, onStatus, checkpoints } = checkSubscribeOptions(subscribeOptions);
      const path =
        stream === undefined
          ? `/subscribe/all${queryString({ from, ...filterParams(filter) })}`
          : `/subscribe/streams/${encodeURIComponent(stream)}${queryString({ from })}`;
      const controller = new AbortController();
      subscriptions.add(controller);
      controller.signal.addEventListener('abort', () => subscriptions.delete(controller), { once: true });
      signal?.addEventListener('abort', () => controller.abort(), { once: true });
      return openSubscription(transport, path, controller, { retry, onStatus, checkpoints });
    },
    async getMetadata(stream) {
      open();
      return transport.call<StreamMetadata>({ method: 'GET', path: `${streamPath(checkStreamName(stream))}/metadata` });
    },
    async listStreams(listOptions) {
      open();
      const { prefix, after, limit } = checkListStreamsOptions(listOptions);
      const listed: StreamInfo[] = [];
      // The server leaves out streams the token may not read, so a page may hold fewer than asked.
      for (let cursor = after; listed.length < limit; ) {
        const page = await transport.call<StreamListJson>({ method: 'GET', path: `/streams${queryString({ prefix, after: cursor, limit: limit - listed.length })}` });
        listed.push(...page.streams.map(streamInfoFromJson));
        if (page.next === undefined) break;
        cursor = page.next;
      }
      return listed;
    },
    async readAcls() {
      open();
      return new Map(Object.entries(await transport.call<Record<string, StreamAcl>>({ method: 'GET', path: '/acls' })));
    },
    async setMetadata(stream, metadata) {
      open();
      const body = JSON.stringify(checkStreamMetadata(metadata));
      await transport.call({ method: 'PUT', path: `${streamPath(checkWritableStream(stream))}/metadata`, body });
    },
    async deleteStream(stream, deleteOptions) {
      open();
      const expectedRevision = checkExpectedRevision(deleteOptions?.expectedRevision);
      await transport.call({ method: 'DELETE', path: `${streamPath(checkWritableStream(stream))}${queryString({ expectedRevision })}` });
    },
    async tombstoneStream(stream, deleteOptions) {
      open();
      const expectedRevision = checkExpectedRevision(deleteOptions?.expectedRevision);
      await transport.call({ method: 'DELETE', path: `${streamPath(checkWritableStream(stream))}${queryString({ expectedRevision, hard: 'true' })}` });
    },
    async stats() {
      open();
      return statsFromJson(await transport.call<StoreStatsJson>({ method: 'GET', path: '/stats' }));
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const controller of subscriptions) controller.abort();
      await transport.close();
    },
  };
};
