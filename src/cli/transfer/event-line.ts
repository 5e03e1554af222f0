/**
 * An event line of an export: the wire form of `/all` (src/protocol/wire.ts). Its shape is checked here so
 * that a bad line is named by its number; `importEvents` then checks the rest (names, sizes, system events).
 */
import { recordedFromJson, type RecordedEventJson } from '../../protocol/wire.js';
import { InvalidArgumentError } from '../../store/errors.js';
import type { RecordedEvent } from '../../store/model.js';

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** What is wrong with a parsed line as an event, or undefined when it is one. */
const problemOf = (value: Record<string, unknown>): string | undefined => {
  const { id, stream, revision, position, type, data, metadata, recordedAt } = value;
  if (typeof id !== 'string') return 'id must be a string';
  if (typeof stream !== 'string') return 'stream must be a string';
  if (typeof revision !== 'number' || !Number.isSafeInteger(revision) || revision < 0) return 'revision must be an integer >= 0';
  if (typeof position !== 'string' || !/^[1-9][0-9]{0,18}$/.test(position)) return 'position must be a string of digits above 0';
  if (typeof type !== 'string') return 'type must be a string';
  if (data === undefined) return 'data is missing';
  if (metadata !== undefined && !isObject(metadata)) return 'metadata must be an object';
  if (typeof recordedAt !== 'string' || Number.isNaN(Date.parse(recordedAt))) return 'recordedAt must be an ISO 8601 time';
  return undefined;
};

/** Parses a line of text as JSON, or says which line is not. */
export const parseLine = (text: string, where: string): unknown => {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new InvalidArgumentError(`${where} is not JSON (${(error as Error).message}); each line holds one event`);
  }
};

/** The event a parsed line holds, or an error naming the line and the field. */
export const eventOf = (value: unknown, where: string): RecordedEvent => {
  if (!isObject(value)) throw new InvalidArgumentError(`${where} is not an event: each line holds one JSON object`);
  const problem = problemOf(value);
  if (problem !== undefined) throw new InvalidArgumentError(`${where} is not an event: ${problem}`);
  return recordedFromJson({
    ...(value as unknown as RecordedEventJson),
    metadata: (value.metadata as RecordedEventJson['metadata']) ?? {},
  });
};
