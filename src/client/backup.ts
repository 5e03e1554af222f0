/**
 * `store.backup()` over HTTP: the server makes the copy (`GET /backup`) and streams it. A SQLite copy is
 * written to a private file of its own (removed by `close()`), as the embedded store gives one; an NDJSON
 * copy is read as it arrives, a page of events at a time, and `close()` ends the response.
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { backupHeaders, readNdjsonBackup, sqliteBackupType } from '../protocol/backup-file.js';
import { ndjsonType } from '../protocol/wire.js';
import { UnavailableError } from '../store/errors.js';
import type { StoreBackup } from '../store/model.js';
import type { Transport } from './transport.js';

const pageSize = 1000;

export const remoteBackup = async (transport: Transport): Promise<StoreBackup> => {
  const { headers, body } = await transport.open({ method: 'GET', path: '/backup', accept: `${sqliteBackupType}, ${ndjsonType}` });
  const header = (name: string) => String(headers[name] ?? '');
  if (!header('content-type').startsWith(sqliteBackupType)) {
    const { header: identity, batches } = await readNdjsonBackup(body, 'the backup the server sent', pageSize);
    return { format: 'events', ...identity, pages: batches, close: async () => void body.destroy() };
  }
  const dir = await mkdtemp(join(tmpdir(), 'annals-backup-'));
  const file = join(dir, 'annals.db');
  try {
    await pipeline(body, createWriteStream(file, { mode: 0o600 }));
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw new UnavailableError(`the backup was cut off: ${(error as Error).message}`, { cause: error });
  }
  return {
    format: 'sqlite',
    file,
    bytes: Number(header('content-length')),
    storeId: header(backupHeaders.storeId),
    epoch: Number(header(backupHeaders.epoch)),
    epochStart: BigInt(header(backupHeaders.epochStart) || '0'),
    headPosition: BigInt(header(backupHeaders.headPosition) || '0'),
    close: () => rm(dir, { recursive: true, force: true }),
  };
};
