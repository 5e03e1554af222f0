/**
 * The only way the UI talks to the server: the public HTTP API with `Authorization: Bearer <token>`. The
 * token lives in sessionStorage (gone when the tab closes; never in a URL or a cookie). A 401 forgets it,
 * which sends the person back to sign in; other refusals reach the page as an ApiError to show.
 */
import { signal } from '@preact/signals';
import { createParser, type EventSourceMessage } from 'eventsource-parser';

const tokenKey = 'annals.token';

export const token = signal<string | null>(sessionStorage.getItem(tokenKey));
/** Why the last session ended, shown on the sign-in form. */
export const signedOutReason = signal<string | null>(null);

export const signIn = (value: string) => {
  sessionStorage.setItem(tokenKey, value);
  signedOutReason.value = null;
  token.value = value;
};

export const signOut = (reason: string | null = null) => {
  sessionStorage.removeItem(tokenKey);
  signedOutReason.value = reason;
  token.value = null;
};

/** A refusal or failure of the server, from its problem+json answer (`code` is the stable part). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
  get forbidden() {
    return this.status === 403;
  }
}

const problemOf = async (response: Response): Promise<ApiError> => {
  let code = `http_${response.status}`;
  let message = response.statusText || `HTTP ${response.status}`;
  try {
    const body = (await response.json()) as { code?: string; detail?: string; title?: string };
    code = body.code ?? code;
    message = body.detail ?? body.title ?? message;
  } catch {
    // Not JSON: the status says enough.
  }
  return new ApiError(response.status, code, message);
};

const call = async (path: string, init: RequestInit = {}, bearer = token.value): Promise<Response> => {
  const headers = new Headers(init.headers);
  if (bearer !== null) headers.set('authorization', `Bearer ${bearer}`);
  if (init.body !== undefined && !headers.has('content-type')) headers.set('content-type', 'application/json');
  let response: Response;
  try {
    response = await fetch(path, { ...init, headers, credentials: 'omit', cache: 'no-store' });
  } catch (error) {
    if ((error as Error).name === 'AbortError') throw error;
    throw new ApiError(0, 'network', 'The server cannot be reached.');
  }
  if (response.ok) return response;
  const problem = await problemOf(response);
  if (response.status === 401 && bearer === token.value) signOut(`Signed out: ${problem.message}`);
  throw problem;
};

export const api = {
  json: async <T>(path: string, init?: RequestInit): Promise<T> => {
    const response = await call(path, init);
    return (response.status === 204 ? undefined : await response.json()) as T;
  },
  text: async (path: string, init?: RequestInit): Promise<string> => (await call(path, init)).text(),
  send: async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const response = await call(path, { method, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    return (response.status === 204 ? undefined : await response.json()) as T;
  },
  /** Checks a token before keeping it: /identity answers any valid token of any role. */
  check: async (candidate: string): Promise<void> => {
    await call('/identity', {}, candidate);
  },
};

/** Builds `path?…` from the values given, repeating array values and leaving out empty ones. */
export const query = (path: string, values: Record<string, string | string[] | undefined>): string => {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(values)) {
    for (const one of Array.isArray(value) ? value : [value]) if (one !== undefined && one !== '') params.append(key, one);
  }
  const text = params.toString();
  return text === '' ? path : `${path}?${text}`;
};

/** The path segment of a stream or group name. */
export const segment = (name: string) => encodeURIComponent(name);

/**
 * Follows a Server-Sent Events stream with fetch (EventSource cannot send the Authorization header) until
 * `abort` fires or the server ends it. Resolves when it ends; rejects with an ApiError when refused.
 */
export const subscribe = async (path: string, onMessage: (message: EventSourceMessage) => void, abort: AbortSignal): Promise<void> => {
  const response = await call(path, { headers: { accept: 'text/event-stream' }, signal: abort });
  if (response.body === null) return;
  const parser = createParser({ onEvent: onMessage });
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      parser.feed(value);
    }
  } catch (error) {
    if (abort.aborted) return;
    throw error;
  } finally {
    reader.releaseLock();
  }
};
