/**
 * `annals restore --from FILE` into a stopped store (DESIGN.md section 11), then a new epoch: cursors and
 * checkpoints taken on the old store beyond the restored head are refused as conflicts, never followed
 * into events they did not see.
 *
 * - A SQLite backup into SQLite (`--data DIR`): the file is checked (integrity, schema, identity), copied
 *   beside the target, given its new epoch there, and renamed into place: the target is the old store or
 *   the restored one, never half of one.
 * - An NDJSON backup, or any backup into PostgreSQL: the events are imported in batches keeping their
 *   positions into an empty store (on SQLite a new file renamed into place the same way).
 *
 * A store already at the target is refused unless `--force` (SQLite only: a PostgreSQL target must be an
 * empty schema); a store that a running server holds is refused even then.
 */
import { randomBytes } from 'node:crypto';
import { chmod, copyFile, mkdtemp, open, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createReadStream, existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { openEventStore, type OpenOptions } from '../../engines/open.js';
import { readNdjsonBackup, sqliteMagic } from '../../protocol/backup-file.js';
import { InvalidArgumentError } from '../../store/errors.js';
import type { EventStore } from '../../store/event-store.js';
import type { BackupHeader, RecordedEvent } from '../../store/model.js';
import { printLine } from '../options.js';
import { progressDisplay } from '../progress.js';
import { storeOptions, withStoreLocation, type StoreLocation } from '../serve.js';

interface RestoreOptions extends StoreLocation {
  from: string;
  force?: boolean;
  json?: boolean;
}

/** Events per import call: a few thousand, one transaction each. */
const batchSize = 2_000;

const isSqliteFile = async (file: string) => {
  const handle = await open(file, 'r');
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(sqliteMagic.length), 0, sqliteMagic.length, 0);
    return bytesRead === sqliteMagic.length && buffer.equals(sqliteMagic);
  } finally {
    await handle.close();
  }
};

const sqliteFiles = (path: string) => [path, `${path}-wal`, `${path}-shm`, `${path}-journal`];

/** A SQLite backup as a source of events (for a PostgreSQL target): opened from a private copy, never itself. */
const sqliteEvents = async (file: string) => {
  const dir = await mkdtemp(join(tmpdir(), 'annals-restore-'));
  await copyFile(file, join(dir, 'annals.db'));
  const source = await openEventStore({ path: join(dir, 'annals.db'), durability: 'os' });
  const stats = await source.stats();
  async function* batches() {
    let batch: RecordedEvent[] = [];
    for await (const event of source.iterateAll({ filter: { includeSystem: true } })) {
      batch.push(event);
      if (batch.length >= batchSize) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length > 0) yield batch;
  }
  const close = async () => {
    await source.close();
    await rm(dir, { recursive: true, force: true });
  };
  return { header: stats as BackupHeader, batches: batches(), close };
};

/** Imports every batch keeping positions, showing progress against the backup's head. */
const importAll = async (store: EventStore, header: BackupHeader, batches: AsyncIterable<RecordedEvent[]>) => {
  if ((await store.stats()).headPosition !== 0n)
    throw new InvalidArgumentError('the target store is not empty: restore into a new PostgreSQL schema (--pg-schema) or an empty one');
  const display = progressDisplay();
  const total = Number(header.headPosition);
  let events = 0;
  let shownAt = 0;
  try {
    for await (const batch of batches) {
      await store.importEvents(batch, { keepPositions: true, source: header });
      events += batch.length;
      if (Date.now() - shownAt >= 500) {
        shownAt = Date.now();
        display.show({ label: 'restoring (position)', progress: { done: Number(batch.at(-1)!.position), total } });
      }
    }
    display.show({ label: 'restoring (position)', progress: { done: total, total } });
  } finally {
    display.stop();
  }
  const head = (await store.stats()).headPosition;
  if (head !== header.headPosition)
    throw new InvalidArgumentError(`the backup ends at position ${head}, not at its head ${header.headPosition}: it is cut short`);
  return events;
};

const restore = async (options: RestoreOptions) => {
  const from = resolve(options.from);
  if (!existsSync(from)) throw new InvalidArgumentError(`--from ${options.from}: no such file`);
  if (options.engine === 'memory') throw new InvalidArgumentError('--engine memory keeps nothing to restore into: give sqlite or postgres');
  if (options.force === true && options.engine === 'postgres')
    throw new InvalidArgumentError('--force replaces a SQLite store only; a PostgreSQL target must be an empty schema');
  const sqliteBackup = await isSqliteFile(from);
  const { open: target } = storeOptions({ ...options, maxSize: undefined });
  const suffix = randomBytes(6).toString('hex');
  let restored: { store: EventStore; events?: number };

  if (target.engine === 'postgres') {
    const source = sqliteBackup
      ? await sqliteEvents(from)
      : { ...(await readNdjsonBackup(createReadStream(from, { encoding: 'utf8' }), from, batchSize)), close: async () => undefined };
    const store = await openEventStore(target);
    try {
      restored = { store, events: await importAll(store, source.header, source.batches) };
    } catch (error) {
      await store.close();
      throw error;
    } finally {
      await source.close();
    }
  } else {
    const path = resolve((target as Extract<OpenOptions, { engine?: 'sqlite' }>).path!);
    if (existsSync(path)) {
      if (options.force !== true)
        throw new InvalidArgumentError(`a store exists at ${path}: stop its server and give --force to replace it with the backup`);
      // Opening it proves no server holds it (the engine's exclusive lock refuses a second process).
      await (await openEventStore({ path })).close();
    }
    mkdirSync(resolve(options.data), { recursive: true, mode: 0o700 });
    // Made beside the target and renamed into place once whole: the store there stays whole throughout.
    const scratch = `${path}.restore-${suffix}`;
    try {
      let events: number | undefined;
      if (sqliteBackup) {
        const { checkSqliteBackup } = await import('../../engines/sqlite/backup.js');
        checkSqliteBackup(from);
        await copyFile(from, scratch);
        await chmod(scratch, 0o600);
        const store = await openEventStore({ path: scratch, durability: options.durability });
        await store.startEpoch().finally(() => store.close());
      } else {
        const { header, batches } = await readNdjsonBackup(createReadStream(from, { encoding: 'utf8' }), from, batchSize);
        const store = await openEventStore({ path: scratch, durability: options.durability });
        try {
          events = await importAll(store, header, batches);
          await store.startEpoch();
        } finally {
          await store.close();
        }
      }
      for (const file of sqliteFiles(path)) await rm(file, { force: true });
      await rename(scratch, path);
      restored = { store: await openEventStore({ path, durability: options.durability }), ...(events === undefined ? {} : { events }) };
    } finally {
      for (const file of sqliteFiles(scratch)) await rm(file, { force: true });
    }
  }

  const { store } = restored;
  try {
    // The PostgreSQL target starts its epoch here; a SQLite one did before its rename.
    const identity = target.engine === 'postgres' ? await store.startEpoch() : await store.stats();
    const stats = await store.stats();
    const summary = {
      from,
      engine: stats.engine,
      storeId: identity.storeId,
      epoch: identity.epoch,
      epochStart: String(identity.epochStart),
      headPosition: String(stats.headPosition),
      ...(restored.events === undefined ? {} : { importedEvents: restored.events }),
    };
    if (options.json === true || process.stdout.isTTY !== true) printLine(summary);
    else
      process.stdout.write(
        `restored store ${summary.storeId} to head ${summary.headPosition}: now epoch ${summary.epoch} (cursors of older epochs beyond ${summary.epochStart} are refused)\n`,
      );
  } finally {
    await store.close();
  }
};

export const restoreCommand = () =>
  withStoreLocation(
    new Command('restore')
      .description('restore a backup (annals backup) into a stopped store, which then starts a new epoch')
      .requiredOption('--from <file>', 'the backup: a SQLite file, or NDJSON from a PostgreSQL or memory server')
      .option('--force', 'replace the SQLite store at --data (only while no server runs on it)')
      .option('--json', 'print the summary as JSON even on a terminal'),
  )
    .addHelpText(
      'after',
      `
Examples:
  annals restore --from backups/annals-2026-11-28.db --data ./data
  annals restore --from backups/annals.ndjson --engine postgres --pg-url postgres://app@db:5432/app --pg-schema annals_restored`,
    )
    .action((options: RestoreOptions) => restore(options));
