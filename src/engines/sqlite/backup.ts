/**
 * Online backups of the SQLite file (DESIGN.md section 11). The server holds the file's exclusive lock, so
 * the copy is made through its own connection with SQLite's online backup API: a few pages a step, the
 * event loop free between steps, so appends go on meanwhile. Pages that those appends change, being
 * written through the same connection, are written to the copy too: when the last step ends, the copy is
 * the database as it is at that moment, whole and consistent.
 */
import { randomUUID } from 'node:crypto';
import { closeSync, fdatasync, openSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import Database from 'better-sqlite3';
import { InvalidArgumentError } from '../../store/errors.js';
import type { BackupHeader, StoreBackup } from '../../store/model.js';
import { schemaVersion } from './migrations.js';

/**
 * Pages copied per step (4 KiB each, 128 KiB a step): a fraction of a millisecond, so that an append,
 * which needs a few turns of the event loop, waits little behind the steps (each turn runs one step).
 * With 256 pages the appends' p50 during a backup was twice that with 64; on a faster machine 64 still let
 * their p99 go past twice the idle one (2.4x, two runs), 32 kept it at 1.4-2.1x for the same rate
 * (400-450 MB/s, bench/suites/backup.ts).
 */
export const backupPagesPerStep = 32;

/** Size of a file, 0 when it is absent (a write-ahead log after a clean close). */
export const fileBytes = (path: string): number => statSync(path, { throwIfNoEntry: false })?.size ?? 0;

const headerOf = (copy: Database.Database): BackupHeader => {
  const { storeId, epoch, epochStart } = copy
    .prepare<[], { storeId: string; epoch: number; epochStart: number }>(
      'SELECT store_id AS storeId, epoch, epoch_start AS epochStart FROM store',
    )
    .get()!;
  const headPosition = copy.prepare('SELECT last_position FROM log').pluck().get() as number;
  return { storeId, epoch, epochStart: BigInt(epochStart), headPosition: BigInt(headPosition) };
};

/**
 * Makes the copy one self-contained file (a rollback journal instead of the source's write-ahead log, so
 * that the file alone is the whole store) and reads what it holds: its identity and last position.
 */
const sealCopy = (file: string): BackupHeader => {
  const copy = new Database(file, { fileMustExist: true });
  try {
    copy.pragma('journal_mode = DELETE');
    return headerOf(copy);
  } finally {
    copy.close();
  }
};

/**
 * Whether a file is a whole Annals SQLite store that this version can open: SQLite's integrity check
 * passes, its schema is one this version knows (at least the one with an identity), and it has one.
 */
export const checkSqliteBackup = (file: string): BackupHeader => {
  const copy = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const problems = copy.pragma('integrity_check', { simple: false }) as { integrity_check: string }[];
    if (problems[0]?.integrity_check !== 'ok')
      throw new InvalidArgumentError(
        `${file} is damaged: ${problems
          .map((row) => row.integrity_check)
          .slice(0, 3)
          .join('; ')}`,
      );
    const version = copy.pragma('user_version', { simple: true }) as number;
    if (version > schemaVersion)
      throw new InvalidArgumentError(
        `${file} has schema ${version}, newer than this Annals knows (${schemaVersion}): restore it with a newer Annals`,
      );
    try {
      return headerOf(copy);
    } catch (error) {
      throw new InvalidArgumentError(
        `${file} is a SQLite file but not an Annals store with an identity (schema ${version}): ${(error as Error).message}`,
      );
    }
  } finally {
    copy.close();
  }
};

export const backupDatabase = async (db: Database.Database, path: string): Promise<StoreBackup> => {
  if (path === ':memory:') throw new Error('an in-memory SQLite store has no file to back up');
  // Beside the database (same disk, same folder's permissions), private from its creation on.
  const file = `${path}.backup-${randomUUID()}`;
  const remove = async () => {
    for (const name of [file, `${file}-journal`, `${file}-wal`, `${file}-shm`]) await rm(name, { force: true });
  };
  const fd = openSync(file, 'wx', 0o600);
  // SQLite syncs the copy when its last step commits, in this thread: all of it at once would stall the
  // appends for as long (tens of ms and more for a large store). Syncing it as it grows, in the background
  // (one sync at a time, on libuv's threads), leaves that last sync little to do.
  let syncing: Promise<void> | undefined;
  const syncInBackground = () => {
    syncing ??= new Promise<void>((resolve) => fdatasync(fd, () => resolve())).then(() => void (syncing = undefined));
  };
  try {
    try {
      await db.backup(file, {
        progress: () => {
          syncInBackground();
          return backupPagesPerStep;
        },
      });
    } finally {
      await syncing;
      closeSync(fd);
    }
    const header = sealCopy(file);
    return { format: 'sqlite', file, bytes: fileBytes(file), ...header, close: remove };
  } catch (error) {
    await remove();
    throw error;
  }
};
