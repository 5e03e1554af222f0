/**
 * How a backup says what it is. A SQLite backup is the database file itself (its own magic, `SQLite
 * format 3`, and the store's identity inside). An NDJSON backup, of a PostgreSQL or memory store, starts
 * with a header line naming the store, its epoch and the head it was taken at, then holds every event of
 * the log in position order, system events included, one per line as `/all` gives them: the shape of
 * `annals export`.
 */
import type { Readable } from 'node:stream';
import { createInterface } from 'node:readline';
import { InvalidArgumentError } from '../store/errors.js';
import type { BackupHeader, RecordedEvent } from '../store/model.js';
import { recordedFromJson, type RecordedEventJson } from './wire.js';

export const sqliteBackupType = 'application/vnd.sqlite3';

/** The first 16 bytes of every SQLite database file. */
export const sqliteMagic = Buffer.from('SQLite format 3\0', 'latin1');

export interface BackupHeaderJson {
  annals: 'export';
  storeId: string;
  epoch: number;
  epochStart: string;
  headPosition: string;
}

export const backupHeaderToJson = ({ storeId, epoch, epochStart, headPosition }: BackupHeader): BackupHeaderJson => ({
  annals: 'export',
  storeId,
  epoch,
  epochStart: String(epochStart),
  headPosition: String(headPosition),
});

/** Response headers of `GET /backup`, whatever its format: what the caller reports without reading the body. */
export const backupHeaders = {
  storeId: 'annals-store-id',
  epoch: 'annals-epoch',
  epochStart: 'annals-epoch-start',
  headPosition: 'annals-head-position',
} as const;

const headerOf = (source: string, line: string | undefined): BackupHeader => {
  let json: Partial<BackupHeaderJson> | undefined;
  try {
    json = JSON.parse(line ?? '') as Partial<BackupHeaderJson>;
  } catch {
    json = undefined;
  }
  const digits = /^[0-9]{1,19}$/;
  if (
    json?.annals !== 'export' ||
    typeof json.storeId !== 'string' ||
    !Number.isInteger(json.epoch) ||
    !digits.test(String(json.epochStart)) ||
    !digits.test(String(json.headPosition))
  )
    throw new InvalidArgumentError(
      `${source} is no Annals backup: it is neither a SQLite store nor NDJSON whose first line is {"annals":"export",storeId,epoch,epochStart,headPosition}`,
    );
  return { storeId: json.storeId, epoch: json.epoch!, epochStart: BigInt(json.epochStart!), headPosition: BigInt(json.headPosition!) };
};

/**
 * Reads an NDJSON backup from `input` (a file, a response): its header line, then its events in batches
 * of `batchSize`; a line that is no event is refused naming `source` and the line's number.
 */
export const readNdjsonBackup = async (input: Readable, source: string, batchSize: number) => {
  const lines = createInterface({ input, crlfDelay: Infinity })[Symbol.asyncIterator]();
  const header = headerOf(source, (await lines.next()).value as string | undefined);
  async function* batches(): AsyncGenerator<RecordedEvent[]> {
    let batch: RecordedEvent[] = [];
    let number = 1;
    for (let next = await lines.next(); next.done !== true; next = await lines.next()) {
      number++;
      const line = next.value as string;
      if (line === '') continue;
      try {
        batch.push(recordedFromJson(JSON.parse(line) as RecordedEventJson));
      } catch (error) {
        throw new InvalidArgumentError(`${source}, line ${number}: not an event (${(error as Error).message})`);
      }
      if (batch.length >= batchSize) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length > 0) yield batch;
  }
  return { header, batches: batches() };
};
