/** Plain HTTP calls for server tests: what any client in any language would send. */
import { request } from 'undici';

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: () => any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export const httpCall = async (
  url: string,
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
  path: string,
  options: { body?: unknown; token?: string; headers?: Record<string, string> } = {},
): Promise<Answer> => {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  let body: string | undefined;
  if (options.body !== undefined) {
    body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  const response = await request(`${url}${path}`, { method, headers, body });
  const text = await response.body.text();
  return { status: response.statusCode, headers: response.headers, text, json: () => JSON.parse(text) };
};

/** A subscription's Server-Sent Events as raw text, read until `enough` says so (or the server ends it). */
export const sseUntil = async (
  url: string,
  path: string,
  enough: (text: string) => boolean,
  options: { token?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; text: string }> => {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  const controller = new AbortController();
  const response = await request(`${url}${path}`, { headers, signal: controller.signal });
  let text = '';
  try {
    for await (const chunk of response.body) {
      text += (chunk as Buffer).toString();
      if (response.statusCode !== 200 || enough(text)) break;
    }
  } catch (error) {
    if (!controller.signal.aborted) throw error;
  } finally {
    controller.abort();
  }
  return { status: response.statusCode, text };
};
