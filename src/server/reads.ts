/**
 * Reads answer in one of two formats: a JSON page with a `next` cursor (the default), or, with
 * `Accept: application/x-ndjson`, every event as one line, streamed page by page in constant memory.
 * A JSON page ends at a count of events or at a byte budget, whichever comes first, so that a page of
 * large events cannot build a string past what V8 (or the caller) can hold; `next` continues it.
 * Either way the first page is read before the status is sent, so a bad read is a proper 4xx. A failure
 * later in a stream can no longer change the status: it ends the body with one `{"error": problem}` line.
 */
import { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { RecordedEvent } from '../store/model.js';
import type { Metrics } from './metrics.js';
import { problem, problemOf, sendProblem } from './problems.js';
import { ndjsonType, recordedToJsonText } from '../protocol/wire.js';

export interface ReadSource {
  source: 'stream' | 'all';
  /** The limit the caller asked for, if any. */
  limit: number | undefined;
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
  /** Most bytes of events in one JSON page; a page holds at least one event, however large. */
  maxPageBytes: number;
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
  const page = await jsonPage(read.iterate(size), size, sizes.maxPageBytes, read.visible);
  if (page.texts.length === 0 && (await read.isAbsent())) return notFound();
  counted(page.texts.length);
  const next = page.last !== undefined && page.full ? read.nextFrom(page.last) : undefined;
  const nextField = next === undefined ? '' : `,"next":"${next}"`;
  return reply.type('application/json; charset=utf-8').send(`{"events":[${page.texts.join(',')}]${nextField}}`);
};

/**
 * The JSON texts of the visible events among up to `size` read, within `maxBytes` bytes; `last` is the
 * last event examined (shown or hidden), `full` when there may be more to read.
 */
const jsonPage = async (
  events: AsyncIterable<RecordedEvent>,
  size: number,
  maxBytes: number,
  visible: ((event: RecordedEvent) => boolean) | undefined,
) => {
  const texts: string[] = [];
  let bytes = 0;
  let examined = 0;
  let last: RecordedEvent | undefined;
  for await (const event of events) {
    examined++;
    if (visible === undefined || visible(event)) {
      const text = recordedToJsonText(event);
      bytes += Buffer.byteLength(text);
      if (texts.length > 0 && bytes > maxBytes) return { texts, last, full: true };
      texts.push(text);
    }
    last = event;
  }
  return { texts, last, full: examined === size };
};
