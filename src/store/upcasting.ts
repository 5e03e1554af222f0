/**
 * Upcasting (DESIGN.md section 8): functions, one per stored event type, that turn an old event into
 * today's shape as it is read. They run in the reading process only (a server opens its store without
 * them), so nothing is upcast twice; the log keeps what was written.
 *
 * Filters match stored types. An upcaster is a function, so which type it returns is known only once it
 * has run: a filter that asks for types is therefore widened to every type that has an upcaster (only
 * those can turn into another type), and what comes back is upcast and then kept only when its type is
 * one that was asked for. Asking for `A.v3` thus finds the `A.v1` and `A.v2` events that upcast to it,
 * and nothing else. Stream prefixes and categories are not about types and stay as they are.
 */
import { InvalidArgumentError } from './errors.js';
import { maxFilterEntries } from './limits.js';
import type { AllFilter, JsonObject, JsonValue, RecordedEvent } from './model.js';
import { shown } from './validate.js';

/** What an upcaster returns: the event's new type, data and (when given) metadata. */
export interface Upcast {
  type: string;
  data: JsonValue;
  /** Absent: the stored metadata is kept. */
  metadata?: JsonObject;
}

export type Upcaster = (event: RecordedEvent) => Upcast;

/** Upcasters by the event type they read. */
export type Upcasters = Readonly<Record<string, Upcaster>>;

/** An upcaster threw or returned something that is not `{ type, data, metadata? }`. */
export class UpcastError extends Error {
  override name = 'UpcastError';
}

/** The `upcasters` option checked: undefined when there is nothing to do. */
export const checkUpcasters = (upcasters: unknown): Upcasters | undefined => {
  if (upcasters === undefined) return undefined;
  const allowed = 'allowed: an object of functions by event type, { [eventType]: (event) => ({ type, data, metadata? }) }';
  if (typeof upcasters !== 'object' || upcasters === null || Array.isArray(upcasters)) {
    throw new InvalidArgumentError(`upcasters is ${shown(upcasters)}; ${allowed}`);
  }
  const entries = Object.entries(upcasters);
  for (const [type, upcaster] of entries) {
    if (typeof upcaster !== 'function') throw new InvalidArgumentError(`upcasters['${type}'] is ${shown(upcaster)}; ${allowed}`);
  }
  // A null prototype: a type named 'toString' or '__proto__' must not find an inherited property.
  return entries.length === 0 ? undefined : (Object.assign(Object.create(null), upcasters) as Upcasters);
};

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

const checkedResult = (result: unknown): Upcast => {
  if (!isObject(result)) throw new Error(`it returned ${shown(result)}, not { type, data, metadata? }`);
  const { type, data, metadata } = result;
  if (typeof type !== 'string' || type === '') throw new Error(`it returned type ${shown(type)}, not a non-empty string`);
  if (data === undefined) throw new Error('it returned no data');
  if (metadata !== undefined && !isObject(metadata)) throw new Error(`it returned metadata ${shown(metadata)}, not an object`);
  return result as unknown as Upcast;
};

/**
 * The event in today's shape: upcasters applied one after the other while the type has one, stopping at
 * a type already met in this chain (so that two upcasters that point at each other cannot loop). Only
 * type, data and metadata change.
 */
export const upcastEvent = (upcasters: Upcasters, event: RecordedEvent): RecordedEvent => {
  if (upcasters[event.type] === undefined) return event;
  // The upcasters get a copy: one that changes the data in place must not change the event that a live
  // tail hands to every other subscriber of the store, nor what a second read would upcast again.
  const met = new Set<string>();
  let current = { ...event, data: structuredClone(event.data), metadata: structuredClone(event.metadata) };
  for (let upcaster = upcasters[current.type]; upcaster !== undefined && !met.has(current.type); upcaster = upcasters[current.type]) {
    met.add(current.type);
    let result: Upcast;
    try {
      result = checkedResult(upcaster(current));
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      throw new UpcastError(
        `the upcaster of type '${current.type}' failed on event ${event.id} (stored type '${event.type}', stream '${event.stream}', revision ${event.revision}): ${why}`,
        { cause: error },
      );
    }
    current = { ...current, type: result.type, data: result.data, metadata: result.metadata ?? current.metadata };
  }
  return current;
};

/** A filter's types widened to every type that has an upcaster; other filters are left as they are. */
export const widenFilter = (upcasters: Upcasters, filter: AllFilter | undefined): AllFilter | undefined => {
  if (filter?.types === undefined) return filter;
  // The asked types first, then the others in name order: the same filter widens the same way every time,
  // which is what a consumer group created twice compares.
  const added = Object.keys(upcasters)
    .filter((type) => !filter.types!.includes(type))
    .sort();
  const types = [...filter.types, ...added];
  if (types.length > maxFilterEntries) {
    throw new InvalidArgumentError(
      `filter.types widened by the ${added.length} upcast types is ${types.length} types; allowed: at most ${maxFilterEntries} (ask for fewer types or filter by stream or category)`,
    );
  }
  return { ...filter, types };
};

/** Whether an upcast event passes the types a caller asked for (a filter without types passes everything). */
export const keptBy = (filter: AllFilter | undefined, event: RecordedEvent): boolean =>
  filter?.types === undefined || filter.types.includes(event.type);
