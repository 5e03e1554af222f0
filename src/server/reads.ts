/**
 * Reads answer in one of two formats: a JSON page with a `next` cursor (the default), or, with
 * `Accept: application/x-ndjson`, every event as one line, streamed page by page in constant memory.
 * Either way the first page is read before the status is sent, so a bad read is a proper 4xx. A failure
 * later in a stream can no longer change the status: it ends the body with one `{"error": problem}` line.
 */
import { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { RecordedEvent } from '../store/model.js';
import type { Metrics } from './metrics.js';
import { problem, problemOf, sendProblem } from './problems.js';
import { ndjsonType, recordedToJson, recordedToJsonText } from '../protocol/wire.js';

export interface ReadSource {
  source: 'stream' | 'all';
  /** The limit the caller asked for, if any. */
  limit: number | undefined;
  page(limit: number): Promise<RecordedEvent[]>;
  iterate(limit: number | undefined): AsyncIterable<RecordedEvent>;
  /** The `from` of the page after one that ended with `last`, if there can be one. */
  nextFrom(last: RecordedEvent): string | undefined;
  /** Leaves out events the caller may not read (stream ACLs); paging goes on past them. */
  visible?: (event: RecordedEvent) => boolean;
  /** Whether an empty read means the source is absent (a 404) rather than just empty here. */
  isAbsent(): Promise<boolean>;
  absentDetail: string;
}

export interface PageSizes {
  /** Events in a JSON page when the caller gives no limit. */
  defaultPage: number;
  /** Most events in one JSON page. */
  maxPage: number;
}

/** Lines per chunk written to the socket: large enough to amortise writes, small enough to stay lazy. */
const ndjsonChunkBytes = 64 * 1024;

async function* ndjsonLines(events: AsyncIterator<RecordedEvent>, first: IteratorResult<RecordedEvent>, counted: (n: number) => void) {
  let chunk = '';
  let count = 0;
  try {
    for (let next = first; !next.done; next = await events.next()) {
      chunk += `${recordedToJsonText(next.value)}\n`;
      count++;
      if (chunk.length >= ndjsonChunkBytes) {
        yield chunk;
        chunk = '';
      }
    }
  } catch (error) {
    const body = problemOf(error) ?? problem('internal', 'the read failed; the server log has the details');
    chunk += `${JSON.stringify({ error: body })}\n`;
  } finally {
    counted(count);
    await events.return?.();
  }
  if (chunk !== '') yield chunk;
}

async function* onlyVisible(events: AsyncIterable<RecordedEvent>, visible: ((event: RecordedEvent) => boolean) | undefined) {
  for await (const event of events) if (visible === undefined || visible(event)) yield event;
}

export const wantsNdjson = (request: FastifyRequest): boolean => (request.headers.accept ?? '').includes(ndjsonType);

export const sendRead = async (request: FastifyRequest, reply: FastifyReply, read: ReadSource, sizes: PageSizes, metrics: Metrics) => {
  const counted = (count: number) => metrics.readEvents.inc({ source: read.source }, count);
  const notFound = () => sendProblem(reply, problem('stream_not_found', read.absentDetail));

  if (wantsNdjson(request)) {
    const events = onlyVisible(read.iterate(read.limit), read.visible)[Symbol.asyncIterator]();
    const first = await events.next();
    if (first.done && (await read.isAbsent())) return notFound();
    return reply.type(ndjsonType).send(Readable.from(ndjsonLines(events, first, counted), { objectMode: false }));
  }

  const size = Math.min(read.limit ?? sizes.defaultPage, sizes.maxPage);
  const events = await read.page(size);
  if (events.length === 0 && (await read.isAbsent())) return notFound();
  counted(events.length);
  const last = events.at(-1);
  const next = last !== undefined && events.length === size ? read.nextFrom(last) : undefined;
  const shown = read.visible === undefined ? events : events.filter(read.visible);
  return { events: shown.map(recordedToJson), ...(next === undefined ? {} : { next }) };
};
