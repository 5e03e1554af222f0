/**
 * Importing another log's events (store/importing.ts) in one transaction under the append lock, so that
 * imported positions stay in commit order like appended ones. The batch is checked first, with the states
 * of its streams and the ids it carries read in two queries; it is then written in order: runs of ordinary
 * events as one insert each, and each system event's change at its place (a delete takes the events of
 * its stream written so far, and its snapshots through the `stream_deleted` trigger).
 */
import type pg from 'pg';
import { absentStream, type StreamState } from '../../store/rules.js';
import { changeOf, checkImportBatch } from '../../store/importing.js';
import type { EventRecord } from '../../store/model.js';
import { asText } from './event-rows.js';
import { appendLock, type SchemaNames } from './migrations.js';
import { translateError } from './unavailable.js';

export const createPostgresImport = (pool: pg.Pool, { s, channel }: SchemaNames) => {
  const insertRun = async (client: pg.PoolClient, run: EventRecord[], positions: bigint[]) => {
    if (run.length === 0) return;
    await client.query(
      `INSERT INTO ${s}.events (position, id, stream, revision, type, data, metadata, recorded_at)
       SELECT p, i, st, r, t, d, m, to_timestamp(at / 1000)
       FROM unnest($1::bigint[], $2::uuid[], $3::text[], $4::bigint[], $5::text[], $6::text[], $7::text[], $8::float8[])
         AS x(p, i, st, r, t, d, m, at)`,
      [
        positions.map(String),
        run.map((event) => event.id),
        run.map((event) => event.stream),
        run.map((event) => event.revision),
        run.map((event) => event.type),
        run.map((event) => event.data),
        run.map((event) => event.metadata),
        run.map((event) => event.recordedAt),
      ],
    );
    const last = new Map(run.map((event) => [event.stream, event.revision]));
    await client.query(
      `INSERT INTO ${s}.streams AS st (name, revision, live) SELECT * FROM unnest($1::text[], $2::bigint[], $3::boolean[])
       ON CONFLICT (name) DO UPDATE SET revision = excluded.revision, live = true`,
      [[...last.keys()], [...last.values()], [...last.keys()].map(() => true)],
    );
  };

  const writeBatch = async (client: pg.PoolClient, events: EventRecord[], keepPositions: boolean): Promise<bigint> => {
    await client.query(`SELECT ${appendLock(s)}`);
    const head = BigInt((await client.query<string[]>({ text: `SELECT last_position FROM ${s}.log`, rowMode: 'array' })).rows[0]![0]!);
    const names = [...new Set(events.flatMap((event) => [event.stream, changeOf(event)?.stream ?? event.stream]))];
    const { rows: streamRows } = await client.query<string[]>({
      text: `SELECT name, revision, live, tombstoned FROM ${s}.streams WHERE name = ANY ($1::text[]) FOR UPDATE`,
      values: [names],
      rowMode: 'array',
      types: asText,
    });
    const before = new Map<string, StreamState>(
      streamRows.map(([name, revision, live, tombstoned]) => [
        name!,
        { revision: Number(revision), exists: live === 't', tombstoned: tombstoned === 't' },
      ]),
    );
    const { rows: takenRows } = await client.query<string[]>({
      text: `SELECT id FROM ${s}.events WHERE id = ANY ($1::uuid[])`,
      values: [events.map((event) => event.id)],
      rowMode: 'array',
    });
    const taken = new Set(takenRows.map(([id]) => id));
    const after = checkImportBatch(events, {
      stateOf: (name) => before.get(name) ?? absentStream,
      idTaken: (id) => taken.has(id),
      head,
      keepPositions,
    });

    let position = head;
    let run: EventRecord[] = [];
    let positions: bigint[] = [];
    for (const event of events) {
      position = keepPositions ? event.position : position + 1n;
      run.push(event);
      positions.push(position);
      const change = changeOf(event);
      if (change === undefined) continue;
      await insertRun(client, run, positions);
      run = [];
      positions = [];
      if (change.kind === 'metadata') {
        await client.query(
          `INSERT INTO ${s}.streams AS st (name, metadata) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET metadata = excluded.metadata`,
          [change.stream, change.metadata],
        );
      } else {
        await client.query(`DELETE FROM ${s}.events WHERE stream = $1`, [change.stream]);
        await client.query(
          `INSERT INTO ${s}.streams AS st (name, revision, live, tombstoned) VALUES ($1, $2, false, $3)
           ON CONFLICT (name) DO UPDATE SET revision = excluded.revision, live = false, tombstoned = excluded.tombstoned`,
          [change.stream, change.lastRevision, change.hard],
        );
      }
    }
    await insertRun(client, run, positions);
    await client.query(`UPDATE ${s}.log SET last_position = $1`, [String(after.head)]);
    await client.query(`SELECT pg_notify($1, $2)`, [channel, String(after.head)]);
    return after.head;
  };

  return async (events: EventRecord[], keepPositions: boolean): Promise<bigint> => {
    let client: pg.PoolClient | undefined;
    try {
      client = await pool.connect();
      await client.query('BEGIN');
      const head = await writeBatch(client, events, keepPositions);
      await client.query('COMMIT');
      client.release();
      return head;
    } catch (error) {
      if (client !== undefined) {
        const rolledBack = await client.query('ROLLBACK').then(
          () => true,
          () => false,
        );
        client.release(!rolledBack);
      }
      throw translateError(error, 'importing events');
    }
  };
};
