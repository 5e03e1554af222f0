import { randomUUID } from 'node:crypto';
import { InvalidArgumentError, PayloadTooLargeError } from './errors.js';
import { maxFilterEntries, maxJsonDepth, maxNameBytes, type Limits } from './limits.js';
import { aclOperations, roles } from './model.js';
import type {
  AclEntry,
  AllFilter,
  ListStreamsOptions,
  Direction,
  EventInput,
  ExpectedRevision,
  JsonObject,
  ReadAllOptions,
  ReadStreamOptions,
  RetryPolicy,
  Role,
  StreamAcl,
  StreamMetadata,
  SubscribeOptions,
} from './model.js';

/** An event checked and serialised once, ready for any engine to store as text. */
export interface PreparedEvent {
  id: string;
  type: string;
  /** JSON text of `data`. */
  data: string;
  /** JSON text of `metadata`, or null when it is empty. */
  metadata: string | null;
}

export interface StreamQuery {
  /** Inclusive; `Number.MAX_SAFE_INTEGER` stands for the end of the stream. */
  from: number;
  direction: Direction;
  limit: number;
}

export interface AllQuery {
  /** Inclusive; `maxPosition` stands for the end of the log. */
  from: bigint;
  direction: Direction;
  limit: number;
  filter: AllFilter | undefined;
  /** Inclusive upper bound of a forwards read: bounds what a subscription's read scans. */
  to?: bigint;
}

export const maxPosition = 2n ** 63n - 1n;
const endOfStream = Number.MAX_SAFE_INTEGER;

// Control characters (C0, DEL, C1) and lone surrogates, which have no UTF-8 form.
const forbiddenInNames = /[\u0000-\u001f\u007f-\u009f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/u;
const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * A UUIDv7 (RFC 9562): 48 bits of milliseconds, then randomness. Ids generated in time order land at the
 * end of the id index instead of on a random page of it, which more than doubles write speed on SQLite.
 */
export const uuidv7 = (now = Date.now()): string => {
  const time = now.toString(16).padStart(12, '0');
  return `${time.slice(0, 8)}-${time.slice(8, 12)}-7${randomUUID().slice(15)}`;
};

const describe = (value: unknown): string =>
  value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value === 'object' ? 'an object' : typeof value;

/** A value as a refusal quotes it: short, and by its kind where it is not a scalar. */
export const shown = (value: unknown): string => {
  if (typeof value === 'string') return `'${value.length > 60 ? `${value.slice(0, 60)}...` : value}'`;
  if (Array.isArray(value)) return `a list of ${value.length} item${value.length === 1 ? '' : 's'}`;
  if (value === null || ['number', 'bigint', 'boolean', 'undefined'].includes(typeof value)) return String(value);
  return describe(value);
};

/** A url a user gave, as a refusal quotes it: never with its password. */
export const shownUrl = (url: unknown): string => (typeof url === 'string' ? `'${url.replace(/:[^:@/]*@/, ':***@')}'` : typeof url);

/** Checks a name (stream, event type, filter entry): 1 to 255 UTF-8 bytes, no control characters. */
export const checkName = (what: string, value: unknown): string => {
  if (typeof value !== 'string') throw new InvalidArgumentError(`${what} must be a string, not ${describe(value)}`);
  if (value.length === 0) throw new InvalidArgumentError(`${what} must not be empty`);
  if (forbiddenInNames.test(value)) {
    throw new InvalidArgumentError(`${what} must not contain control characters or invalid Unicode`);
  }
  const bytes = Buffer.byteLength(value, 'utf8');
  if (bytes > maxNameBytes) throw new InvalidArgumentError(`${what} is ${bytes} UTF-8 bytes long; allowed: at most ${maxNameBytes}`);
  return value;
};

export const checkStreamName = (stream: unknown): string => checkName('stream name', stream);

export const checkEventId = (id: unknown): string => {
  if (typeof id === 'string' && uuidPattern.test(id)) return id.toLowerCase();
  throw new InvalidArgumentError(`event id is ${shown(id)}; allowed: a UUID`);
};

/** Streams whose names start with `$` belong to the system: users may read them, never write them. */
export const checkWritableStream = (stream: unknown): string => {
  const name = checkStreamName(stream);
  if (name.startsWith('$')) throw new InvalidArgumentError(`stream '${name}' is reserved for the system ($ prefix)`);
  return name;
};

const isPlainObject = (value: object): boolean => {
  const prototype = Object.getPrototypeOf(value) as unknown;
  return prototype === Object.prototype || prototype === null;
};

/** An object or array being walked by checkJson, and which of its entries comes next. */
interface Frame {
  container: object;
  /** The keys of an object; undefined for an array. */
  keys: string[] | undefined;
  next: number;
}

const entryCount = (frame: Frame) => frame.keys?.length ?? (frame.container as unknown[]).length;
const entryAt = (frame: Frame, index: number): unknown =>
  frame.keys === undefined ? (frame.container as unknown[])[index] : (frame.container as Record<string, unknown>)[frame.keys[index]!];

/**
 * Throws unless `value` is exactly a JSON value nested at most maxJsonDepth levels, so that what is read
 * back equals what was written. The walk keeps its own stack (a deeply nested value must not overflow the
 * call stack) and spells the path of a value only when it has to name it in an error.
 */
export const checkJson = (value: unknown, path: string): void => {
  const frames: Frame[] = [];
  const ancestors = new Set<object>();
  const pathHere = () => path + frames.map(({ keys, next }) => (keys === undefined ? `[${next - 1}]` : `.${keys[next - 1]}`)).join('');
  for (let current = value; ;) {
    checkJsonNode(current, pathHere);
    if (typeof current === 'object' && current !== null) {
      if (ancestors.has(current)) throw new InvalidArgumentError(`${pathHere()} refers to itself`);
      if (frames.length === maxJsonDepth) {
        throw new InvalidArgumentError(`${path} nests more than ${maxJsonDepth} levels of objects and arrays`);
      }
      frames.push({ container: current, keys: Array.isArray(current) ? undefined : Object.keys(current), next: 0 });
      ancestors.add(current);
    }
    let top = frames.at(-1);
    while (top !== undefined && top.next === entryCount(top)) {
      ancestors.delete(top.container);
      frames.pop();
      top = frames.at(-1);
    }
    if (top === undefined) return;
    current = entryAt(top, top.next++);
  }
};

/** Throws unless `value` is a JSON scalar, an array or a plain object. */
const checkJsonNode = (value: unknown, pathHere: () => string): void => {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value)) throw new InvalidArgumentError(`${pathHere()} is ${value}, which JSON cannot hold`);
      return;
    case 'object':
      if (value === null || Array.isArray(value) || isPlainObject(value)) return;
      throw new InvalidArgumentError(
        `${pathHere()} is a ${(value as { constructor?: { name?: string } }).constructor?.name ?? 'object'}, not a JSON value (convert it first)`,
      );
    default:
      throw new InvalidArgumentError(`${pathHere()} is ${describe(value)}, not a JSON value`);
  }
};

const checkJsonObject = (value: unknown, path: string): JsonObject => {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidArgumentError(`${path} must be a JSON object, not ${describe(value)}`);
  }
  checkJson(value, path);
  return value as JsonObject;
};

/**
 * The JSON text of `value`. JSON.stringify changes what is not JSON (a Date, NaN, undefined) without a
 * word, so the caller still walks the value with checkJson; what it cannot serialise at all (a cycle, a
 * bigint, a nesting deeper than the stack) the walk explains here.
 */
export const serialised = (value: unknown, path: string): string => {
  try {
    const text = JSON.stringify(value) as string | undefined;
    if (text !== undefined) return text;
  } catch {
    // Explained by the walk below.
  }
  checkJson(value, path);
  throw new InvalidArgumentError(`${path} is not a JSON value`);
};

export const checkExpectedRevision = (expected: unknown): ExpectedRevision => {
  if (expected === undefined) return 'any';
  if (expected === 'any' || expected === 'no_stream' || expected === 'stream_exists') return expected;
  if (typeof expected === 'number' && Number.isSafeInteger(expected) && expected >= 0) return expected;
  throw new InvalidArgumentError(
    `expectedRevision must be 'any', 'no_stream', 'stream_exists' or a revision (an integer >= 0), not ${JSON.stringify(expected) ?? String(expected)}`,
  );
};

/** Validates and serialises one append, generating missing ids. Throws before anything is written. */
export const prepareEvents = (events: unknown, limits: Limits): PreparedEvent[] => {
  if (!Array.isArray(events)) throw new InvalidArgumentError(`events must be an array, not ${describe(events)}`);
  if (events.length === 0) throw new InvalidArgumentError('events must hold at least one event');
  if (events.length > limits.maxAppendEvents) {
    throw new PayloadTooLargeError(`an append holds at most ${limits.maxAppendEvents} events, not ${events.length}`);
  }
  const ids = new Set<string>();
  const now = Date.now();
  let totalBytes = 0;
  return events.map((event: unknown, index): PreparedEvent => {
    const path = `events[${index}]`;
    if (typeof event !== 'object' || event === null || Array.isArray(event)) {
      throw new InvalidArgumentError(`${path} must be an object, not ${describe(event)}`);
    }
    const { id, type, data, metadata, ...unknown } = event as EventInput & Record<string, unknown>;
    const extra = Object.keys(unknown);
    if (extra.length > 0) throw new InvalidArgumentError(`${path} has unknown field '${extra[0]}'`);
    if (id !== undefined && (typeof id !== 'string' || !uuidPattern.test(id))) {
      throw new InvalidArgumentError(`${path}.id must be a UUID`);
    }
    const eventId = id === undefined ? uuidv7(now) : id.toLowerCase();
    if (ids.has(eventId)) throw new InvalidArgumentError(`${path}.id ${eventId} appears twice in one append`);
    ids.add(eventId);
    checkName(`${path}.type`, type);
    if (data === undefined) throw new InvalidArgumentError(`${path}.data is missing`);
    if (metadata !== undefined && (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata))) {
      throw new InvalidArgumentError(`${path}.metadata must be a JSON object, not ${describe(metadata)}`);
    }
    // Sizes first: an oversized event is refused by its bytes before its values are walked.
    const prepared: PreparedEvent = {
      id: eventId,
      type,
      data: serialised(data, `${path}.data`),
      metadata: metadata === undefined || Object.keys(metadata).length === 0 ? null : serialised(metadata, `${path}.metadata`),
    };
    const bytes = Buffer.byteLength(prepared.data) + (prepared.metadata === null ? 0 : Buffer.byteLength(prepared.metadata));
    if (bytes > limits.maxEventBytes) {
      throw new PayloadTooLargeError(`${path} is ${bytes} bytes; an event holds at most ${limits.maxEventBytes}`);
    }
    totalBytes += bytes;
    if (totalBytes > limits.maxAppendBytes) {
      throw new PayloadTooLargeError(`an append holds at most ${limits.maxAppendBytes} bytes of events`);
    }
    checkJson(data, `${path}.data`);
    if (metadata !== undefined) checkJson(metadata, `${path}.metadata`);
    return prepared;
  });
};

const checkDirection = (direction: unknown): Direction => {
  if (direction === undefined || direction === 'forwards' || direction === 'backwards') return direction ?? 'forwards';
  throw new InvalidArgumentError(`direction is ${shown(direction)}; allowed: 'forwards' or 'backwards'`);
};

const checkLimit = (limit: unknown): number => {
  if (limit === undefined) return Number.MAX_SAFE_INTEGER;
  if (typeof limit === 'number' && Number.isSafeInteger(limit) && limit > 0) return limit;
  throw new InvalidArgumentError(`limit is ${shown(limit)}; allowed: a positive integer`);
};

export const checkOptionsObject = (options: unknown, allowed: string[], what = 'options'): Record<string, unknown> => {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new InvalidArgumentError(`${what} is ${shown(options)}; allowed: an object`);
  }
  const extra = Object.keys(options).find((key) => !allowed.includes(key));
  if (extra !== undefined) {
    throw new InvalidArgumentError(
      `${what === 'options' ? 'unknown option' : `${what} has unknown field`} '${extra}'; allowed: ${allowed.join(', ')}`,
    );
  }
  return options as Record<string, unknown>;
};

export const checkStreamQuery = (options: ReadStreamOptions | undefined): StreamQuery => {
  const { from, direction, limit } = checkOptionsObject(options, ['from', 'direction', 'limit']);
  const dir = checkDirection(direction);
  let start: number;
  if (from === undefined) start = dir === 'forwards' ? 0 : endOfStream;
  else if (from === 'start') start = 0;
  else if (from === 'end') start = endOfStream;
  else if (typeof from === 'number' && Number.isSafeInteger(from) && from >= 0) start = from;
  else throw new InvalidArgumentError(`from is ${shown(from)}; allowed: a revision (an integer >= 0), 'start' or 'end'`);
  return { from: start, direction: dir, limit: checkLimit(limit) };
};

export const checkPosition = (what: string, value: unknown): bigint => {
  if (typeof value === 'bigint' && value >= 0n && value <= maxPosition) return value;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return BigInt(value);
  if (typeof value === 'string' && /^\d{1,19}$/.test(value) && BigInt(value) <= maxPosition) return BigInt(value);
  throw new InvalidArgumentError(`${what} is ${shown(value)}; allowed: a position (an integer from 0 to ${maxPosition})`);
};

export const checkFilter = (filter: unknown): AllFilter | undefined => {
  if (filter === undefined) return undefined;
  const { types, streams, category, includeSystem } = checkOptionsObject(
    filter,
    ['types', 'streams', 'category', 'includeSystem'],
    'filter',
  );
  const list = (what: string, value: unknown): string[] | undefined => {
    if (value === undefined) return undefined;
    if (!Array.isArray(value) || value.length === 0 || value.length > maxFilterEntries) {
      throw new InvalidArgumentError(`filter.${what} is ${shown(value)}; allowed: a list of 1 to ${maxFilterEntries} names`);
    }
    return value.map((item, index) => checkName(`filter.${what}[${index}]`, item));
  };
  const checked: AllFilter = {};
  const typeList = list('types', types);
  const streamList = list('streams', streams);
  if (typeList) checked.types = typeList;
  if (streamList) checked.streams = streamList;
  if (category !== undefined) {
    checked.category = checkName('filter.category', category);
    if (checked.category.includes('-')) {
      throw new InvalidArgumentError(`filter.category is ${shown(category)}; allowed: a category (a name without '-')`);
    }
  }
  if (includeSystem !== undefined && typeof includeSystem !== 'boolean') {
    throw new InvalidArgumentError(`filter.includeSystem is ${shown(includeSystem)}; allowed: true or false`);
  }
  if (includeSystem === true) checked.includeSystem = true;
  return Object.keys(checked).length === 0 ? undefined : checked;
};

export const checkAllQuery = (options: ReadAllOptions | undefined): AllQuery => {
  const { from, direction, limit, filter } = checkOptionsObject(options, ['from', 'direction', 'limit', 'filter']);
  const dir = checkDirection(direction);
  let start: bigint;
  if (from === undefined) start = dir === 'forwards' ? 0n : maxPosition;
  else if (from === 'start') start = 0n;
  else if (from === 'end') start = maxPosition;
  else start = checkPosition('from', from);
  return { from: start, direction: dir, limit: checkLimit(limit), filter: checkFilter(filter) };
};

const checkCount = (what: string, value: unknown, min: number): number => {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= min) return value;
  throw new InvalidArgumentError(`${what} must be an integer >= ${min}`);
};

const checkAclEntry = (path: string, entry: unknown): AclEntry => {
  if (Array.isArray(entry)) {
    throw new InvalidArgumentError(`${path} must be { tokens?: [...], roles?: [...] }: token names and roles are separate lists, not one`);
  }
  const { tokens, roles: entryRoles } = checkOptionsObject(entry, ['tokens', 'roles'], path);
  const checked: AclEntry = {};
  const listOf = (what: string, value: unknown): unknown[] => {
    if (!Array.isArray(value) || value.length > maxFilterEntries) {
      throw new InvalidArgumentError(`${path}.${what} must be a list of at most ${maxFilterEntries} entries, not ${describe(value)}`);
    }
    return value;
  };
  if (tokens !== undefined) checked.tokens = listOf('tokens', tokens).map((name, index) => checkName(`${path}.tokens[${index}]`, name));
  if (entryRoles !== undefined) {
    checked.roles = listOf('roles', entryRoles).map((role, index) => {
      if (!roles.includes(role as Role)) {
        throw new InvalidArgumentError(
          `${path}.roles[${index}] is ${JSON.stringify(role) ?? String(role)}; allowed: ${roles.map((r) => `'${r}'`).join(', ')}`,
        );
      }
      return role as Role;
    });
  }
  return checked;
};

const checkAcl = (acl: unknown): StreamAcl => {
  const entries = checkOptionsObject(acl, ['read', 'write', 'metaRead', 'delete', 'metaWrite'], 'acl');
  for (const adminOnly of ['delete', 'metaWrite']) {
    if (entries[adminOnly] !== undefined) {
      throw new InvalidArgumentError(`acl.${adminOnly} cannot take effect: it takes an admin, and no ACL narrows admins; leave it out`);
    }
  }
  const checked: StreamAcl = {};
  for (const operation of aclOperations) {
    if (entries[operation] !== undefined) checked[operation] = checkAclEntry(`acl.${operation}`, entries[operation]);
  }
  return checked;
};

export const checkStreamMetadata = (metadata: unknown): StreamMetadata => {
  const { maxCount, maxAgeSeconds, truncateBefore, acl, custom } = checkOptionsObject(metadata, [
    'maxCount',
    'maxAgeSeconds',
    'truncateBefore',
    'acl',
    'custom',
  ]);
  const checked: StreamMetadata = {};
  if (maxCount !== undefined) checked.maxCount = checkCount('maxCount', maxCount, 1);
  if (maxAgeSeconds !== undefined) checked.maxAgeSeconds = checkCount('maxAgeSeconds', maxAgeSeconds, 1);
  if (truncateBefore !== undefined) checked.truncateBefore = checkCount('truncateBefore', truncateBefore, 0);
  if (acl !== undefined) checked.acl = checkAcl(acl);
  if (custom !== undefined) checked.custom = checkJsonObject(custom, 'custom');
  return checked;
};

export const maxListedStreams = 1000;

export interface StreamListQuery {
  prefix: string | undefined;
  after: string | undefined;
  limit: number;
}

export const checkListStreamsOptions = (options: ListStreamsOptions | undefined): StreamListQuery => {
  const { prefix, after, limit } = checkOptionsObject(options, ['prefix', 'after', 'limit']);
  if (limit !== undefined && !(typeof limit === 'number' && Number.isSafeInteger(limit) && limit >= 1 && limit <= maxListedStreams)) {
    throw new InvalidArgumentError(`limit is ${JSON.stringify(limit) ?? String(limit)}; allowed: an integer from 1 to ${maxListedStreams}`);
  }
  return {
    prefix: prefix === undefined ? undefined : checkName('prefix', prefix),
    after: after === undefined ? undefined : checkStreamName(after),
    limit: (limit as number | undefined) ?? 100,
  };
};

const checkRetryPolicy = (retry: unknown): Required<RetryPolicy> => {
  const {
    initialDelayMs = 100,
    maxDelayMs = 5000,
    maxAttempts = Infinity,
  } = checkOptionsObject(retry, ['initialDelayMs', 'maxDelayMs', 'maxAttempts']);
  const checkDelay = (what: string, value: unknown): number => {
    if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 && value <= 3_600_000) return value;
    throw new InvalidArgumentError(
      `retry.${what} must be an integer from 0 to 3600000 (ms), not ${JSON.stringify(value) ?? String(value)}`,
    );
  };
  if (maxAttempts !== Infinity && !(typeof maxAttempts === 'number' && Number.isSafeInteger(maxAttempts) && maxAttempts >= 0)) {
    throw new InvalidArgumentError(
      `retry.maxAttempts must be an integer >= 0 or Infinity, not ${JSON.stringify(maxAttempts) ?? String(maxAttempts)}`,
    );
  }
  return {
    initialDelayMs: checkDelay('initialDelayMs', initialDelayMs),
    maxDelayMs: checkDelay('maxDelayMs', maxDelayMs),
    maxAttempts: maxAttempts as number,
  };
};

/** One source (a stream, a category or a filter) and where to start after. */
export const checkSubscribeOptions = (options: SubscribeOptions) => {
  const { stream, category, filter, from, signal, checkpoints, retry, onStatus, ...unknown } = options;
  const extra = Object.keys(unknown)[0];
  if (extra !== undefined) throw new InvalidArgumentError(`unknown option '${extra}'`);
  const sources = [stream, category, filter].filter((source) => source !== undefined).length;
  if (sources > 1) throw new InvalidArgumentError('subscribe to one of stream, category or filter');
  const allFilter = checkFilter(category === undefined ? filter : { ...filter, category });
  if (checkpoints !== undefined && typeof checkpoints !== 'boolean') throw new InvalidArgumentError('checkpoints must be true or false');
  if (onStatus !== undefined && typeof onStatus !== 'function') throw new InvalidArgumentError('onStatus must be a function');
  return {
    stream: stream === undefined ? undefined : checkStreamName(stream),
    filter: allFilter,
    from: from === undefined || from === 'start' || from === 'end' ? (from ?? 'start') : checkPosition('from', from),
    signal,
    checkpoints: checkpoints ?? false,
    retry: checkRetryPolicy(retry),
    onStatus,
  };
};
