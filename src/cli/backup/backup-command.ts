/**
 * `annals backup --out FILE`: asks the server for a consistent copy of its store (`GET /backup`) and
 * writes it to FILE privately (0600) and atomically (a temporary file beside it, renamed once whole and
 * synced), with progress in bytes and a summary line.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { createTransport } from '../../client/transport.js';
import { backupHeaders, sqliteBackupType } from '../../protocol/backup-file.js';
import { UnavailableError } from '../../store/errors.js';
import { clientCommand, printLine, withClient, type ConnectionOptions } from '../options.js';
import { progressDisplay } from '../progress.js';

const mebibytes = (bytes: number) => Math.round(bytes / 104_857.6) / 10;

/** A progress display shown at most every half second: a line per chunk would flood a log. */
const bytesProgress = (label: string) => {
  const display = progressDisplay();
  let shownAt = 0;
  return {
    update(done: number, total: number | undefined, last = false) {
      const now = Date.now();
      if (!last && now - shownAt < 500) return;
      shownAt = now;
      display.show(
        total === undefined
          ? { label: `${label}: ${mebibytes(done)} MiB` }
          : { label: `${label} (MiB)`, progress: { done: mebibytes(done), total: mebibytes(total) } },
      );
    },
    stop: () => display.stop(),
  };
};

const header = (headers: Record<string, string | string[] | undefined>, name: string) => {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
};

const backup = async (options: ConnectionOptions & { out: string }) => {
  const out = resolve(options.out);
  // Beside the target, so that the rename is atomic; hidden and private from its creation on.
  const partial = join(dirname(out), `.${basename(out)}.${randomBytes(6).toString('hex')}.partial`);
  const started = Date.now();
  // withClient for its hints on failure (token, url); the body is bytes for a file, so the transport reads it.
  await withClient(options, async () => {
    const transport = createTransport(options.url, { token: options.token });
    const file = await open(partial, 'wx', 0o600);
    try {
      const { headers, body } = await transport.open({
        method: 'GET',
        path: '/backup',
        accept: `${sqliteBackupType}, application/x-ndjson`,
      });
      const sqlite = header(headers, 'content-type')?.startsWith(sqliteBackupType) === true;
      const length = header(headers, 'content-length');
      const total = length === undefined ? undefined : Number(length);
      const progress = bytesProgress(`backup of ${options.url}`);
      let written = 0;
      let last = 0;
      try {
        for await (const chunk of body as AsyncIterable<Buffer>) {
          await file.write(chunk);
          written += chunk.length;
          last = chunk.at(-1)!;
          progress.update(written, total);
        }
        progress.update(written, total, true);
      } catch (error) {
        throw new UnavailableError(`the backup was cut off after ${written} bytes: ${(error as Error).message}`, { cause: error });
      } finally {
        progress.stop();
      }
      // A whole SQLite copy is as long as the server said; a whole NDJSON one ends its last line.
      if (sqlite ? written !== total : last !== 0x0a)
        throw new UnavailableError(`the backup was cut off after ${written} bytes${total === undefined ? '' : ` of ${total}`}`);
      await file.sync();
      await file.close();
      await rename(partial, out);
      const summary = {
        file: out,
        format: sqlite ? 'sqlite' : 'ndjson',
        bytes: written,
        storeId: header(headers, backupHeaders.storeId),
        epoch: Number(header(headers, backupHeaders.epoch)),
        headPosition: header(headers, backupHeaders.headPosition),
        seconds: (Date.now() - started) / 1000,
      };
      if (options.json === true || process.stdout.isTTY !== true) printLine(summary);
      else
        process.stdout.write(
          `backed up store ${summary.storeId} (epoch ${summary.epoch}, head ${summary.headPosition}) to ${out}: ` +
            `${mebibytes(written)} MiB ${summary.format} in ${summary.seconds.toFixed(1)} s\n`,
        );
    } catch (error) {
      await file.close().catch(() => undefined);
      await rm(partial, { force: true });
      throw error;
    } finally {
      await transport.close();
    }
  });
};

export const backupCommand = () =>
  clientCommand('backup', "write a consistent copy of the server's whole store to a file, while it keeps taking writes")
    .requiredOption('--out <file>', 'the file to write (replaced atomically when the copy is whole; mode 0600)')
    .addHelpText(
      'after',
      `
Needs an admin token without stream prefixes. A SQLite server sends its database file; PostgreSQL and
memory send NDJSON (a header line, then every event, system events included). annals restore reads both.
  annals backup --out backups/annals-$(date +%F).db --token $ADMIN_TOKEN`,
    )
    .action((options: ConnectionOptions & { out: string }) => backup(options));
