/**
 * Verification: two logs read in order, compared event by event on everything a copy keeps. Data and
 * metadata are compared as JSON values, since PostgreSQL's jsonb does not keep the order of keys.
 */
import { isDeepStrictEqual } from 'node:util';
import type { RecordedEvent } from '../../store/model.js';

export type Comparison = { verified: number } | { verified: number; difference: string };

const fieldsOf = (positions: boolean) =>
  [
    'id',
    'stream',
    'revision',
    ...(positions ? ['position' as const] : []),
    'type',
    'data',
    'metadata',
    'recordedAt',
  ] as const satisfies readonly (keyof RecordedEvent)[];

const shown = (value: unknown) =>
  typeof value === 'bigint' ? String(value) : value instanceof Date ? value.toISOString() : JSON.stringify(value);

/** The first field in which `actual` differs from `expected`, or undefined. */
export const differenceOf = (expected: RecordedEvent, actual: RecordedEvent, positions: boolean): string | undefined => {
  for (const field of fieldsOf(positions)) {
    const same =
      field === 'recordedAt'
        ? expected.recordedAt.getTime() === actual.recordedAt.getTime()
        : isDeepStrictEqual(expected[field], actual[field]);
    if (!same) return `${field} is ${shown(actual[field])}, expected ${shown(expected[field])}`;
  }
  return undefined;
};

/**
 * Compares `actual` with `expected`, event by event, until `expected` ends (`positions`: compare them too).
 * Stops at the first difference, which names the event by its place, position and id.
 */
export const compareLogs = async (
  expected: AsyncIterable<RecordedEvent>,
  actual: AsyncIterable<RecordedEvent>,
  positions: boolean,
): Promise<Comparison> => {
  const other = actual[Symbol.asyncIterator]();
  let verified = 0;
  try {
    for await (const event of expected) {
      const next = await other.next();
      const where = `event ${verified + 1} (position ${event.position} in the source, id ${event.id})`;
      if (next.done === true) return { verified, difference: `${where} is missing from the target` };
      const difference = differenceOf(event, next.value, positions);
      if (difference !== undefined) return { verified, difference: `${where}: ${difference}` };
      verified++;
    }
    return { verified };
  } finally {
    await other.return?.();
  }
};
