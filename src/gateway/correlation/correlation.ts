/**
 * Correlation: every request leaves the gateway with an `x-correlation-id` (a UUID when the caller sent
 * none) and a W3C `traceparent` (a new trace when the caller sent none or a malformed one). Both go
 * upstream; the correlation id also goes back to the caller.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

const traceparentPattern = /^[0-9a-f]{2}-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$/;
const correlationPattern = /^[\w.:@-]{1,128}$/;

export const newTraceparent = () => `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`;

const first = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);

/** The correlation id and traceparent of a request: the caller's when well formed, else new ones. */
export const correlationOf = (headers: IncomingHttpHeaders): { correlationId: string; traceparent: string } => {
  const given = first(headers['x-correlation-id']);
  const trace = first(headers.traceparent)?.trim().toLowerCase();
  return {
    correlationId: given !== undefined && correlationPattern.test(given) ? given : randomUUID(),
    traceparent: trace !== undefined && traceparentPattern.test(trace) ? trace : newTraceparent(),
  };
};
