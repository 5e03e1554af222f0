/**
 * A consistent copy of a PostgreSQL store's log (DESIGN.md section 11): one REPEATABLE READ transaction
 * reads the identity, the head and then every event, system events included, in pages by position. The
 * snapshot is what makes it consistent, not the order of positions: a stream deleted while the copy is
 * read keeps its events in the snapshot, and its `$deleted` event lies beyond the copy's head, so the copy
 * is the store as it was at one moment, however long it takes to read.
 */
import type pg from 'pg';
import type { StoreBackup } from '../../store/model.js';
import { asText, eventColumns, toRecorded, type EventRow } from './event-rows.js';
import { translateError } from './unavailable.js';

/** Events per page read from the snapshot. */
const pageRows = 5_000;

export const backupLog = async (pool: pg.Pool, s: string): Promise<StoreBackup> => {
  const client = await pool.connect().catch((error: unknown) => {
    throw translateError(error, 'starting a backup');
  });
  const run = async (text: string, values: unknown[] = []) =>
    (await client.query<string[]>({ text, values, rowMode: 'array', types: asText })).rows;
  let released = false;
  const close = async () => {
    if (released) return;
    released = true;
    await run('COMMIT').then(
      () => client.release(),
      (error: unknown) => client.release(error as Error),
    );
  };
  let header: string[];
  try {
    await run('BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY');
    // A caller that reads slowly leaves the transaction idle between pages: that is no reason to end it.
    await run('SET LOCAL idle_in_transaction_session_timeout = 0');
    await run('SET LOCAL statement_timeout = 0');
    [header] = (await run(`SELECT store_id, epoch, epoch_start, (SELECT last_position FROM ${s}.log) FROM ${s}.store`)) as [string[]];
  } catch (error) {
    released = true;
    client.release(error as Error);
    throw translateError(error, 'starting a backup');
  }
  async function* pages() {
    let after = '0';
    for (;;) {
      const rows = await run(`SELECT ${eventColumns} FROM ${s}.events WHERE position > $1 ORDER BY position LIMIT $2`, [
        after,
        pageRows,
      ]).catch((error: unknown) => {
        throw translateError(error, 'reading a backup');
      });
      if (rows.length === 0) return;
      yield rows.map((row) => toRecorded(row as EventRow));
      after = rows.at(-1)![0]!;
    }
  }
  return {
    format: 'events',
    storeId: header[0]!,
    epoch: Number(header[1]),
    epochStart: BigInt(header[2]!),
    headPosition: BigInt(header[3]!),
    pages: pages(),
    close,
  };
};
