/**
 * `GET /backup` (DESIGN.md section 11): a consistent copy of the whole store, streamed while writes go on.
 * On SQLite the database file, copied by the server through its own connection (it holds the file's
 * exclusive lock, so nothing else can); elsewhere NDJSON, a header line and every event of the log read in
 * one snapshot. Only for an admin token on every stream: a backup holds every stream. The copy is released
 * (its file removed, its snapshot ended) when the response ends, however it ends.
 */
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { checkAccess } from '../../auth/access.js';
import { backupHeaders, backupHeaderToJson, sqliteBackupType } from '../../protocol/backup-file.js';
import { ndjsonType, recordedToJsonText } from '../../protocol/wire.js';
import type { RecordedEvent, StoreBackup } from '../../store/model.js';
import type { RouteContext } from '../context.js';
import { Problem } from '../schemas.js';

async function* ndjsonBackup(backup: StoreBackup, pages: AsyncIterable<RecordedEvent[]>) {
  yield `${JSON.stringify(backupHeaderToJson(backup))}\n`;
  for await (const page of pages) yield page.map((event) => `${recordedToJsonText(event)}\n`).join('');
}

export const backupRoutes: FastifyPluginAsyncTypebox<RouteContext> = async (app, { store }) => {
  app.get(
    '/backup',
    {
      config: { access: 'admin' },
      schema: {
        summary: 'A consistent copy of the whole store, made while writes go on',
        description:
          'On SQLite the database file (`application/vnd.sqlite3`); on PostgreSQL and memory NDJSON: a header line ' +
          '`{"annals":"export",storeId,epoch,epochStart,headPosition}`, then every event, system events included. ' +
          '`annals restore` reads either. Needs an admin token on every stream.',
        tags: ['operations'],
        response: { 200: Type.Unknown({ description: 'the backup: a SQLite file or NDJSON' }), '4xx': Problem, '5xx': Problem },
      },
    },
    async ({ principal }, reply) => {
      checkAccess(principal, 'server');
      const backup = await store.backup();
      const body =
        backup.format === 'sqlite'
          ? createReadStream(backup.file)
          : Readable.from(ndjsonBackup(backup, backup.pages), { objectMode: false });
      // Ended, failed or abandoned by the caller (the server destroys the stream then): the copy goes.
      body.once('close', () => void backup.close().catch((error: unknown) => reply.log.warn({ err: error }, 'releasing a backup failed')));
      reply
        .header(backupHeaders.storeId, backup.storeId)
        .header(backupHeaders.epoch, String(backup.epoch))
        .header(backupHeaders.epochStart, String(backup.epochStart))
        .header(backupHeaders.headPosition, String(backup.headPosition));
      if (backup.format === 'sqlite') reply.type(sqliteBackupType).header('content-length', String(backup.bytes));
      else reply.type(ndjsonType);
      return reply.send(body);
    },
  );
};
