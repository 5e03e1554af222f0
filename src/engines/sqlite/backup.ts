/**
 * Online backups of the SQLite file (DESIGN.md section 11). The server holds the file's exclusive lock, so
 * the copy is made through its own connection with SQLite's online backup API: a few pages a step, the
 * event loop free between steps, so appends go on meanwhile. Pages that those appends change, being
 * written through the same connection, are written to the copy too: when the last step ends, the copy is
 * the database as it is at that moment, whole and consistent.
 */
import { randomUUID } from 'node:crypto';
import { closeSync, openSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import Database from 'better-sqlite3';
import type { StoreBackup } from '../../store/model.js';

/**
 * Pages copied per step (4 KiB each): about a millisecond of work from the page cache, short enough that
 * an append waits no more than that behind a step (bench/suites/backup.ts measures the effect).
 */
export const backupPagesPerStep = 256;

/** Size of a file, 0 when it is absent (a write-ahead log after a clean close). */
export const fileBytes = (path: string): number => statSync(path, { throwIfNoEntry: false })?.size ?? 0;

/** What a copy holds: its identity and the position of its last event, read from the copy itself. */
export const readCopyHeader = (file: string) => {
  const copy = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const { storeId, epoch, epochStart } = copy
      .prepare<[], { storeId: string; epoch: number; epochStart: number }>(
        'SELECT store_id AS storeId, epoch, epoch_start AS epochStart FROM store',
      )
      .get()!;
    const headPosition = copy.prepare('SELECT last_position FROM log').pluck().get() as number;
    return { storeId, epoch, epochStart: BigInt(epochStart), headPosition: BigInt(headPosition) };
  } finally {
    copy.close();
  }
};

export const backupDatabase = async (db: Database.Database, path: string): Promise<StoreBackup> => {
  if (path === ':memory:') throw new Error('an in-memory SQLite store has no file to back up');
  // Beside the database (same disk, same folder's permissions), private from its creation on.
  const file = `${path}.backup-${randomUUID()}`;
  const remove = () => Promise.all([rm(file, { force: true }), rm(`${file}-journal`, { force: true })]).then(() => undefined);
  closeSync(openSync(file, 'wx', 0o600));
  try {
    await db.backup(file, { progress: () => backupPagesPerStep });
    return { format: 'sqlite', file, bytes: fileBytes(file), ...readCopyHeader(file), close: remove };
  } catch (error) {
    await remove();
    throw error;
  }
};
