/** The checks of every group call, shared by the embedded store and the client (as the store's are). */
import { InvalidArgumentError } from '../../store/errors.js';
import { checkFilter, checkName, checkOptionsObject, checkPosition, checkStreamName, shown } from '../../store/validate.js';
import {
  maxPullSize,
  maxSettleIds,
  maxWaitMs,
  nackActions,
  strategies,
  type GroupSettingsInput,
  type GroupSettingsPatch,
  type GroupSource,
  type MutableGroupSettings,
  type NackAction,
  type ParkedQuery,
  type ParkedSelection,
  type ReplayOptions,
} from './model.js';

export const checkGroupName = (name: unknown): string => checkName('group name', name);
export const checkConsumerName = (name: unknown): string => checkName('consumer', name);

const checkSource = (source: unknown): GroupSource => {
  const { stream, category, filter, ...rest } = checkOptionsObject(source, ['stream', 'category', 'filter'], 'source');
  const given = [stream, category, filter].filter((value) => value !== undefined).length + Object.keys(rest).length;
  if (given > 1)
    throw new InvalidArgumentError(`source has ${given} fields; allowed: one of stream, category, filter, or none (the whole log)`);
  if (stream !== undefined) return { stream: checkStreamName(stream) };
  if (category !== undefined) {
    const name = checkName('source.category', category);
    if (name.includes('-'))
      throw new InvalidArgumentError(`source.category is ${shown(category)}; allowed: a category (a name without '-')`);
    return { category: name };
  }
  if (filter !== undefined) {
    const checked = checkFilter(filter);
    return checked === undefined ? {} : { filter: checked };
  }
  return {};
};

const checkFrom = (from: unknown): 'start' | 'end' | bigint => (from === 'start' || from === 'end' ? from : checkPosition('from', from));

const checkScope = (scope: unknown): string[] => {
  if (!Array.isArray(scope) || scope.length === 0 || scope.length > 100) {
    throw new InvalidArgumentError(`scope is ${shown(scope)}; allowed: a list of 1 to 100 stream name prefixes`);
  }
  return scope.map((prefix, index) => checkName(`scope[${index}]`, prefix));
};

const checkInteger = (what: string, value: unknown, min: number, max: number): number => {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= min && value <= max) return value;
  throw new InvalidArgumentError(`${what} is ${shown(value)}; allowed: an integer from ${min} to ${max}`);
};

const day = 24 * 60 * 60 * 1000;

/** Each mutable setting's check, by name. */
const settingChecks: { [K in keyof MutableGroupSettings]: (value: unknown) => MutableGroupSettings[K] } = {
  strategy(value) {
    if (strategies.includes(value as never)) return value as MutableGroupSettings['strategy'];
    throw new InvalidArgumentError(`strategy is ${shown(value)}; allowed: ${strategies.join(', ')}`);
  },
  ackTimeoutMs: (value) => checkInteger('ackTimeoutMs', value, 1, day),
  maxRetries: (value) => checkInteger('maxRetries', value, 0, 1000),
  retryDelayMs: (value) => checkInteger('retryDelayMs', value, 0, day),
  maxInFlight: (value) => checkInteger('maxInFlight', value, 1, 100_000),
  maxPending: (value) => checkInteger('maxPending', value, 1, 1_000_000),
  consumerTimeoutMs: (value) => checkInteger('consumerTimeoutMs', value, 1, day),
  paused(value) {
    if (typeof value === 'boolean') return value;
    throw new InvalidArgumentError(`paused is ${shown(value)}; allowed: true or false`);
  },
};
const mutableKeys = Object.keys(settingChecks) as (keyof MutableGroupSettings)[];

/** Settings as given, checked: `from` still `'start'`, `'end'` or a position; unset fields left out. */
export interface CheckedSettings extends Partial<MutableGroupSettings> {
  source?: GroupSource;
  from?: 'start' | 'end' | bigint;
  scope?: string[];
}

export const checkGroupSettings = (settings: GroupSettingsInput | GroupSettingsPatch | undefined, what = 'settings'): CheckedSettings => {
  const given = checkOptionsObject(settings, ['source', 'from', 'scope', ...mutableKeys], what);
  const checked: CheckedSettings = {};
  if (given.source !== undefined) checked.source = checkSource(given.source);
  if (given.from !== undefined) checked.from = checkFrom(given.from);
  if (given.scope !== undefined) checked.scope = checkScope(given.scope);
  for (const key of mutableKeys) {
    if (given[key] !== undefined) (checked as Record<string, unknown>)[key] = settingChecks[key](given[key]);
  }
  return checked;
};

export interface PullQuery {
  consumer: string;
  max: number;
  waitMs: number;
}

export const checkPullOptions = (options: unknown): PullQuery & { signal?: AbortSignal } => {
  if (options === undefined) throw new InvalidArgumentError('pull options are missing; allowed: { consumer, max?, waitMs?, signal? }');
  const { consumer, max = 100, waitMs = 0, signal } = checkOptionsObject(options, ['consumer', 'max', 'waitMs', 'signal']);
  if (signal !== undefined && !(signal instanceof AbortSignal))
    throw new InvalidArgumentError(`signal is ${shown(signal)}; allowed: an AbortSignal`);
  return {
    consumer: checkConsumerName(consumer),
    max: checkInteger('max', max, 1, maxPullSize),
    waitMs: checkInteger('waitMs', waitMs, 0, maxWaitMs),
    ...(signal === undefined ? {} : { signal }),
  };
};

/** What a delivery id looks like: `<group id>.<entry>.<attempt>`, decimal. */
const deliveryIdPattern = /^(\d{1,15})\.(\d{1,15})\.(\d{1,9})$/;

export interface DecodedId {
  id: string;
  group: number;
  entry: number;
  attempt: number;
}

export const encodeDeliveryId = (group: number, entry: number, attempt: number): string => `${group}.${entry}.${attempt}`;

export const decodeDeliveryId = (id: string): DecodedId => {
  const match = deliveryIdPattern.exec(id)!;
  return { id, group: Number(match[1]), entry: Number(match[2]), attempt: Number(match[3]) };
};

export const checkDeliveryIds = (ids: unknown): string[] => {
  if (!Array.isArray(ids) || ids.length === 0 || ids.length > maxSettleIds) {
    throw new InvalidArgumentError(`ids is ${shown(ids)}; allowed: a list of 1 to ${maxSettleIds} delivery ids`);
  }
  ids.forEach((id, index) => {
    if (typeof id !== 'string' || !deliveryIdPattern.test(id)) {
      throw new InvalidArgumentError(`ids[${index}] is ${shown(id)}; allowed: a delivery id as pull returned it`);
    }
  });
  return ids as string[];
};

const maxReasonBytes = 1024;

export const checkNackOptions = (options: unknown): { action: NackAction; reason?: string } => {
  const { action, reason } = checkOptionsObject(options, ['action', 'reason']);
  if (!nackActions.includes(action as never))
    throw new InvalidArgumentError(`action is ${shown(action)}; allowed: ${nackActions.join(', ')}`);
  if (reason === undefined) return { action: action as NackAction };
  if (typeof reason !== 'string' || Buffer.byteLength(reason) > maxReasonBytes) {
    throw new InvalidArgumentError(`reason is ${shown(reason)}; allowed: a string of at most ${maxReasonBytes} UTF-8 bytes`);
  }
  return { action: action as NackAction, reason };
};

export const checkExtendMs = (ms: unknown): number => checkInteger('ms', ms, 1, day);

const checkPageLimit = (limit: unknown): number => (limit === undefined ? 100 : checkInteger('limit', limit, 1, 1000));

export const checkParkedQuery = (query: ParkedQuery | undefined): { after: bigint; limit: number } => {
  const { after, limit } = checkOptionsObject(query, ['after', 'limit']);
  return { after: after === undefined ? 0n : checkPosition('after', after), limit: checkPageLimit(limit) };
};

export const checkParkedSelection = (selection: ParkedSelection | undefined): { ids?: bigint[]; limit: number } => {
  const { ids, limit } = checkOptionsObject(selection, ['ids', 'limit']);
  if (ids === undefined) return { limit: limit === undefined ? maxSettleIds : checkInteger('limit', limit, 1, maxSettleIds) };
  if (!Array.isArray(ids) || ids.length === 0 || ids.length > maxSettleIds) {
    throw new InvalidArgumentError(`ids is ${shown(ids)}; allowed: a list of 1 to ${maxSettleIds} positions of parked events`);
  }
  // A position given twice names one parked event: it is replayed or deleted once.
  const positions = [...new Set(ids.map((id, index) => checkPosition(`ids[${index}]`, id)))];
  return { ids: positions, limit: positions.length };
};

export interface ReplayQuery {
  from: bigint;
  to?: bigint;
  stream?: string;
  category?: string;
}

export const checkReplayOptions = (options: ReplayOptions | undefined): ReplayQuery => {
  if (options === undefined) throw new InvalidArgumentError('replay options are missing; allowed: { from, to?, stream?, category? }');
  const { from, to, stream, category } = checkOptionsObject(options, ['from', 'to', 'stream', 'category']);
  const query: ReplayQuery = { from: checkPosition('from', from) };
  if (to !== undefined) query.to = checkPosition('to', to);
  if (query.to !== undefined && query.to < query.from) {
    throw new InvalidArgumentError(`to is ${query.to}, below from (${query.from}); allowed: a position >= from`);
  }
  if (stream !== undefined && category !== undefined) throw new InvalidArgumentError('replay takes stream or category, not both');
  if (stream !== undefined) query.stream = checkStreamName(stream);
  if (category !== undefined) query.category = checkName('category', category);
  return query;
};
