/**
 * HTTP to one Annals server over keep-alive connections (undici). Short calls share a bounded pool;
 * long-lived responses (NDJSON reads, subscriptions) get a pool of their own so that they never starve
 * appends of connections. A server that cannot be reached is `unavailable`, like a store that is down.
 */
import type { Readable } from 'node:stream';
import { Pool } from 'undici';
import { InvalidArgumentError, UnavailableError } from '../store/errors.js';
import { shownUrl } from '../store/validate.js';
import { errorFromResponse } from './problems.js';

export interface TransportOptions {
  token?: string;
  /** Connections for short calls (appends, pages, metadata). Default 64. */
  connections?: number;
}

export interface Request {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  body?: string;
  accept?: string;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** A call that may wait long for its answer (a long poll): sent on the pool of long responses. */
  long?: boolean;
}

export interface Transport {
  /** A call whose answer is read whole: its JSON, `undefined` for 204, or the error it means. */
  call<T>(request: Request): Promise<T>;
  /** A long response: its body as a stream, or the error it means (`StreamNotFoundError` for an absent stream). */
  open(request: Request): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Readable }>;
  close(): Promise<void>;
}

/**
 * Where the server is: `http(s)://host[:port]`, optionally with a path prefix under which a proxy serves
 * it (`https://example.com/annals`); every call goes below the prefix.
 */
/** `?key=value&...` of the defined entries (a list repeats its key); '' when none is. */
export const queryString = (entries: Record<string, string | number | bigint | string[] | undefined>) => {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(entries)) {
    if (Array.isArray(value)) for (const item of value) params.append(key, item);
    else if (value !== undefined) params.append(key, String(value));
  }
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
};

export const checkServerUrl = (url: unknown): { origin: string; prefix: string } => {
  const parsed = typeof url === 'string' && URL.canParse(url) ? new URL(url) : undefined;
  const problem =
    parsed === undefined || !['http:', 'https:'].includes(parsed.protocol)
      ? 'it is no http or https url'
      : parsed.username !== '' || parsed.password !== ''
        ? 'credentials go in the token option, not in the url'
        : parsed.search !== '' || parsed.hash !== ''
          ? 'it has a query or a fragment'
          : undefined;
  if (problem !== undefined) {
    throw new InvalidArgumentError(
      `the server url is ${shownUrl(url)} (${problem}); allowed: http(s)://host[:port][/prefix], e.g. http://127.0.0.1:2113`,
    );
  }
  return { origin: parsed!.origin, prefix: parsed!.pathname.replace(/\/+$/, '') };
};

const unreachable = (origin: string, error: unknown) =>
  new UnavailableError(`cannot reach the Annals server at ${origin}: ${(error as Error).message}`, { cause: error });

export const createTransport = (url: string, options: TransportOptions): Transport => {
  const { origin, prefix } = checkServerUrl(url);
  const calls = new Pool(origin, { connections: options.connections ?? 64, keepAliveTimeout: 30_000 });
  const streams = new Pool(origin, { keepAliveTimeout: 30_000 });
  const authorization: Record<string, string> = options.token === undefined ? {} : { authorization: `Bearer ${options.token}` };

  const send = async (pool: Pool, request: Request) => {
    const headers: Record<string, string> = { ...authorization, accept: request.accept ?? 'application/json', ...request.headers };
    if (request.body !== undefined) headers['content-type'] = 'application/json';
    try {
      return await pool.request({
        origin,
        method: request.method,
        path: `${prefix}${request.path}`,
        body: request.body,
        headers,
        signal: request.signal,
      });
    } catch (error) {
      if (request.signal?.aborted) throw error;
      throw unreachable(origin, error);
    }
  };

  return {
    async call<T>(request: Request): Promise<T> {
      const response = await send(request.long === true ? streams : calls, request);
      let text: string;
      try {
        text = await response.body.text();
      } catch (error) {
        throw unreachable(origin, error);
      }
      if (response.statusCode >= 400) throw errorFromResponse(response.statusCode, text);
      return (text === '' ? undefined : JSON.parse(text)) as T;
    },
    async open(request) {
      const response = await send(streams, request);
      if (response.statusCode >= 400) throw errorFromResponse(response.statusCode, await response.body.text());
      return { status: response.statusCode, headers: response.headers, body: response.body };
    },
    async close() {
      await Promise.all([calls.close(), streams.destroy()]);
    },
  };
};
