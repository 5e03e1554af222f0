/** Bounds on what one append may carry (DESIGN.md section 2). Every engine enforces the same ones. */
export interface Limits {
  maxEventBytes: number;
  maxAppendBytes: number;
  maxAppendEvents: number;
}

export const defaultLimits: Limits = {
  maxEventBytes: 1024 * 1024,
  maxAppendBytes: 16 * 1024 * 1024,
  maxAppendEvents: 10_000,
};

/** Longest stream name, event type or filter entry, in UTF-8 bytes. */
export const maxNameBytes = 255;
/** Most entries in one `$all` filter list. */
export const maxFilterEntries = 100;
/**
 * Deepest nesting of objects and arrays in an event's data or metadata. Real events nest a few levels;
 * the bound keeps every walk of a value (checks, serialisation, parsers of other languages) off the edge
 * of its stack.
 */
export const maxJsonDepth = 64;
