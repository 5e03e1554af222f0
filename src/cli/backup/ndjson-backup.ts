/**
 * Reading an NDJSON backup (src/protocol/backup-file.ts): the header line, then events in batches. Kept
 * small and in one place; `annals import` reads the same shape.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { BackupHeaderJson } from '../../protocol/backup-file.js';
import { recordedFromJson, type RecordedEventJson } from '../../protocol/wire.js';
import { InvalidArgumentError } from '../../store/errors.js';
import type { BackupHeader, RecordedEvent } from '../../store/model.js';

const headerOf = (file: string, line: string | undefined): BackupHeader => {
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
      `${file} is no Annals backup: it is neither a SQLite store nor NDJSON whose first line is {"annals":"export",storeId,epoch,epochStart,headPosition}`,
    );
  return { storeId: json.storeId, epoch: json.epoch!, epochStart: BigInt(json.epochStart!), headPosition: BigInt(json.headPosition!) };
};

/** The header, and the events in batches of `batchSize`; a line that is no event names its number. */
export const openNdjsonBackup = async (file: string, batchSize: number) => {
  const lines = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity })[Symbol.asyncIterator]();
  const header = headerOf(file, (await lines.next()).value as string | undefined);
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
        throw new InvalidArgumentError(`${file}, line ${number}: not an event (${(error as Error).message})`);
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
