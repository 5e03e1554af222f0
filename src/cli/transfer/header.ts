/**
 * The first line of an export: which store the events come from, so that an import can keep their
 * positions and take the source's identity, and a resumed export can tell it continues the same log.
 *
 *   {"annals":"export","version":1,"storeId":"…","epoch":1,"epochStart":"0","headPosition":"5000","from":"1"}
 *
 * It is a JSON object like the event lines, so the file stays NDJSON; no event has an `annals` field, so it
 * cannot be taken for one. Positions are strings of digits, as on the wire. `headPosition` is the source's
 * head when the export began (a resumed export may go beyond it), `from` the first position asked for.
 */
import { InvalidArgumentError } from '../../store/errors.js';
import type { StoreIdentity } from '../../store/model.js';

export interface ExportHeader extends StoreIdentity {
  headPosition: bigint;
  from: bigint;
}

const formatVersion = 1;

export const headerLine = (header: ExportHeader): string =>
  JSON.stringify({
    annals: 'export',
    version: formatVersion,
    storeId: header.storeId,
    epoch: header.epoch,
    epochStart: String(header.epochStart),
    headPosition: String(header.headPosition),
    from: String(header.from),
  });

/** Whether a parsed line is a header rather than an event. */
export const isHeader = (value: unknown): boolean => typeof value === 'object' && value !== null && 'annals' in value;

const positionOf = (value: unknown, field: string, where: string): bigint => {
  if (typeof value !== 'string' || !/^[0-9]{1,19}$/.test(value)) {
    throw new InvalidArgumentError(`${where}: ${field} is ${JSON.stringify(value)}; allowed: a position as a string of digits`);
  }
  return BigInt(value);
};

/** The header in a parsed first line; `where` names the file and line in errors. */
export const headerOf = (value: Record<string, unknown>, where: string): ExportHeader => {
  if (value.annals !== 'export' || value.version !== formatVersion) {
    throw new InvalidArgumentError(
      `${where}: a header of ${JSON.stringify(value.annals)} version ${JSON.stringify(value.version)}; allowed: "export" version ${formatVersion}`,
    );
  }
  const { storeId, epoch } = value;
  if (typeof storeId !== 'string' || storeId === '') throw new InvalidArgumentError(`${where}: storeId is missing from the header`);
  if (typeof epoch !== 'number' || !Number.isSafeInteger(epoch) || epoch < 1) {
    throw new InvalidArgumentError(`${where}: epoch is ${JSON.stringify(epoch)}; allowed: an integer >= 1`);
  }
  return {
    storeId,
    epoch,
    epochStart: positionOf(value.epochStart, 'epochStart', where),
    headPosition: positionOf(value.headPosition, 'headPosition', where),
    from: positionOf(value.from, 'from', where),
  };
};
