/**
 * How a backup says what it is. A SQLite backup is the database file itself (its own magic, `SQLite
 * format 3`, and the store's identity inside). An NDJSON backup, of a PostgreSQL or memory store, starts
 * with a header line naming the store, its epoch and the head it was taken at, then holds every event of
 * the log in position order, system events included, one per line as `/all` gives them: the shape of
 * `annals export`.
 */
import type { BackupHeader } from '../store/model.js';

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
  headPosition: 'annals-head-position',
} as const;
