/**
 * The PostgreSQL engine: the same store at scale, many Annals processes in front of one database.
 *
 * ## A global order that never skips
 *
 * Readers of `$all` page by position: "give me what follows P". That is only safe if an event that a
 * reader has not seen yet can never get a position at or below one it has seen. With a plain sequence it
 * can: transaction A takes position 10, B takes 11 and commits first, a reader sees 11 and moves on, then A
 * commits 10 and the reader never sees it. The known ways out:
 *
 * - xid snapshot filtering (Emmett since PR 336, PgQ): store the transaction id and read only below the
 *   snapshot's xmin. Correct, but any long transaction anywhere in the database (a report, a forgotten
 *   psql session) holds xmin back and stalls every reader for as long as it runs. Rejected.
 * - High-water mark with gap detection (Marten): read up to a mark that a daemon advances once gaps are
 *   filled or have waited long enough. Gaps from rolled-back transactions are indistinguishable from slow
 *   ones, so the daemon must guess with a timeout: a slow transaction is skipped for ever, or readers lag.
 * - Late sequencing: write without a position and let one sequencer number committed rows afterwards.
 *   Correct and fast for writers, but it is a second process to run and monitor, and it adds latency.
 * - A lock held until commit (chosen): every write that assigns positions first takes a
 *   transaction-scoped advisory lock for the schema, then draws its positions, and releases the lock only
 *   when it commits. Positions are therefore drawn in commit order. PostgreSQL makes a transaction visible
 *   (ProcArrayEndTransaction) before it releases its locks, so by the time the next writer can draw a
 *   position, every lower one is already visible to new snapshots: a reader always sees a gap-free prefix
 *   of the log (minus deleted streams), on the primary and, since WAL replays commits in that same order,
 *   on hot standbys. Readers take no lock and look at no xid, so no other transaction can stall them.
 *
 * The price is that appends to one schema commit one transaction at a time, including the WAL flush.
 * Group commit (group-commit.ts) pays it back: each process sends all appends waiting at that moment as one
 * statement, one transaction, one flush. The lock is taken inside that statement, after parsing, so it is
 * held for the work and the commit only. A stuck writer cannot hold it for ever: sessions run with a
 * statement timeout and an idle-in-transaction timeout.
 *
 * ## Writes
 *
 * An append group is one call of `append_events` (migrations.ts) in autocommit: one round trip, and the
 * driver reports success only once the server has answered after COMMIT, so an acknowledged append is
 * durable and an append that fails in flight is all or nothing. A lost connection during a group is
 * reported as `unavailable`: the append may or may not have committed, and a retry with the same event ids
 * is safe, since retries are idempotent. The function writes an append only when the rules plainly allow
 * it; otherwise it returns the state, and rules.ts decides the error or the replayed result, as on every
 * engine. Deletes go through `delete_stream` and the same lock, so they cannot race an append.
 */
import pg from 'pg';
import { createChangeFeed } from '../../store/change-feed.js';
import type { EngineCore } from '../../store/engine.js';
import { StreamDeletedError, UnavailableError } from '../../store/errors.js';
import {
  systemStreamOf,
  type AppendResult,
  type ExpectedRevision,
  type RecordedEvent,
  type StreamAcl,
  type StreamMetadata,
} from '../../store/model.js';
import {
  checkWrite,
  nameAfterPrefix,
  replayedAppend,
  streamInfo,
  visibleWindow,
  type StoredEvent,
  type StreamState,
} from '../../store/rules.js';
import { uuidv7, type AllQuery, type PreparedEvent, type StreamQuery } from '../../store/validate.js';
import { allQuerySql } from './all-query.js';
import { asText, eventColumns, toRecord, toRecorded, type EventRow } from './event-rows.js';
import { createGroupCommit, type Outcome } from './group-commit.js';
import { createPostgresGroups } from './groups.js';
import { createPostgresSnapshots } from './snapshots.js';
import { createPostgresProjections } from './projections.js';
import { createPostgresImport } from './import.js';
import { backupLog } from './backup.js';
import { migrate, schemaNames } from './migrations.js';
import { checkPostgresUrl, isConnectionLost, isUnavailable, translateError } from './unavailable.js';
import { startWakeUps } from './wake-ups.js';

export interface PostgresEngineOptions {
  /** `postgres://user@host:port/database`. */
  url: string;
  /** The PostgreSQL schema that holds the store; created when missing. Default `annals`. */
  schema?: string | undefined;
  /** Connections for reads and writes (the listener for wake-ups has its own). Default 10. */
  poolSize?: number;
  /** Longest a statement may run before it fails as `unavailable`. Default 30 s. */
  statementTimeoutMs?: number;
  /** Longest wait for a connection. Default 5 s. */
  connectTimeoutMs?: number;
  /** How often the head is polled in case a notification was missed. Default 1 s. */
  pollIntervalMs?: number;
  /** Shown in `pg_stat_activity`. Default `annals`. */
  applicationName?: string;
}

interface Append {
  stream: string;
  events: PreparedEvent[];
  expected: ExpectedRevision;
  bytes: number;
}

/** Keeps one group's parameters well below what a statement should carry. */
const maxGroupBytes = 8 * 1024 * 1024;

const stateOf = (revision: string, live: string, tombstoned: string): StreamState => ({
  revision: Number(revision),
  exists: live === 't',
  tombstoned: tombstoned === 't',
});

export const openPostgresEngine = async (options: PostgresEngineOptions): Promise<EngineCore> => {
  checkPostgresUrl(options.url);
  const names = schemaNames(options.schema ?? 'annals');
  const { s } = names;
  const config: pg.PoolConfig = {
    connectionString: options.url,
    application_name: options.applicationName ?? 'annals',
    statement_timeout: options.statementTimeoutMs ?? 30_000,
    idle_in_transaction_session_timeout: 60_000,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5_000,
    keepAlive: true,
    // The append function relies on each statement seeing what committed before it took the lock.
    // JIT compiling costs more than it saves on key lookups and page-sized range scans.
    options: '-c default_transaction_isolation=read\\ committed -c jit=off',
  };
  const pool = new pg.Pool({ ...config, max: options.poolSize ?? 10 });
  // An idle connection that dies (server restart, terminated backend) is dropped and replaced on demand.
  pool.on('error', () => undefined);

  const query = async (doing: string, text: string, values: unknown[] = []): Promise<string[][]> => {
    try {
      return (await pool.query<string[]>({ text, values, rowMode: 'array', types: asText })).rows;
    } catch (error) {
      throw translateError(error, doing);
    }
  };
  // Pooled connections can die while idle (terminated backends, a restarted server) before the pool
  // notices; a read that failed for that reason alone is safe to run again, and each failure discards one
  // dead connection, so it is tried at most once more than the pool holds connections.
  const read = async (doing: string, text: string, values: unknown[] = []): Promise<string[][]> => {
    for (let attempt = 0; ; attempt++) {
      try {
        return await query(doing, text, values);
      } catch (error) {
        if (!isConnectionLost(error) || attempt >= pool.options.max) throw error;
      }
    }
  };
  const readHead = async () => BigInt((await read('reading the head', `SELECT last_position FROM ${s}.log`))[0]![0]!);

  let head: bigint;
  try {
    await migrate(pool, names);
    head = await readHead();
  } catch (error) {
    await pool.end();
    throw translateError(error, `opening schema ${names.schema}`);
  }
  const changes = createChangeFeed(head);
  const wakeUps = startWakeUps({ config, channel: names.channel, changes, readHead, pollIntervalMs: options.pollIntervalMs ?? 1000 });
  await wakeUps.ready;

  /** What rules.ts says about an append that `append_events` did not write. */
  const decide = (append: Append, row: string[]): AppendResult => {
    const state = stateOf(row[3]!, row[4]!, row[5]!);
    if (state.tombstoned) throw new StreamDeletedError(append.stream);
    if (row[7] !== null) {
      const found = (JSON.parse(row[7]!) as (Omit<StoredEvent, 'position'> & { position: string })[]).map((event): StoredEvent => ({
        ...event,
        position: BigInt(event.position),
      }));
      return replayedAppend(append.stream, append.expected, append.events, found, state, Number(row[6]));
    }
    checkWrite(append.stream, append.expected, state);
    throw new Error(`append_events refused an append to '${append.stream}' that the rules allow`);
  };

  const commitAppends = async (group: Append[]): Promise<Outcome<AppendResult>[]> => {
    const streams: string[] = [];
    const expected: string[] = [];
    const counts: number[] = [];
    const ids: string[] = [];
    const types: string[] = [];
    const data: string[] = [];
    const metadata: (string | null)[] = [];
    for (const append of group) {
      streams.push(append.stream);
      expected.push(String(append.expected));
      counts.push(append.events.length);
      for (const event of append.events) {
        ids.push(event.id);
        types.push(event.type);
        data.push(event.data);
        metadata.push(event.metadata);
      }
    }
    const rows = await query(
      'appending',
      // now() is the time of the statement's transaction, which the function's inserts record as recorded_at.
      `SELECT a.*, extract(epoch FROM now())::float8 * 1000
       FROM ${s}.append_events($1::text[], $2::text[], $3::int[], $4::uuid[], $5::text[], $6::text[], $7::text[]) a`,
      [streams, expected, counts, ids, types, data, metadata],
    );
    let newHead = 0n;
    const outcomes = group.map((append, index): Outcome<AppendResult> => {
      const row = rows[index]!;
      if (row[0] === 't') {
        const result = { revision: Number(row[1]), position: BigInt(row[2]!), recordedAt: new Date(Number(row[8])) };
        if (result.position > newHead) newHead = result.position;
        return { ok: true, value: result };
      }
      try {
        return { ok: true, value: decide(append, row) };
      } catch (error) {
        return { ok: false, error };
      }
    });
    changes.advance(newHead);
    return outcomes;
  };

  const appends = createGroupCommit<Append, AppendResult>({
    commit: commitAppends,
    weigh: (append) => append.bytes,
    maxWeight: maxGroupBytes,
    retryAlone: (error) => !isUnavailable(error),
  });

  // After a metadata change or a delete (which append a system event): this process's subscribers hear it
  // now; if the head cannot be read, the notification the write sent wakes them a moment later.
  const importEvents = createPostgresImport(pool, names);
  // Sizes the catalog keeps (tables with their indexes and TOAST): no scan of any table.
  const readDiskUsage = async () => {
    const [row] = await read(
      'reading disk usage',
      `SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c
       JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind IN ('r', 'm')`,
      [names.schema],
    );
    return { usedBytes: Number(row![0]) };
  };

  const advanceAfterWrite = async () => changes.advance(await readHead().catch(() => changes.head));

  const allRows = async (allQuery: AllQuery) => {
    const { text, values } = allQuerySql(s, allQuery);
    return (await read('reading $all', text, values)) as EventRow[];
  };

  return {
    name: 'postgres',
    changes,
    groups: createPostgresGroups({ s, query, read }),
    snapshots: createPostgresSnapshots({ s, query, read }),
    projections: createPostgresProjections({ s, query, read }),
    syncChanges: async () => changes.advance(await readHead()),

    append(stream, events, expected) {
      let bytes = 0;
      for (const event of events) bytes += event.data.length + (event.metadata?.length ?? 0) + 64;
      return appends.submit({ stream, events, expected, bytes });
    },

    async readStream(stream, { from, direction, limit }: StreamQuery): Promise<RecordedEvent[]> {
      const [row] = await read('reading a stream', `SELECT revision, live, tombstoned, metadata FROM ${s}.streams WHERE name = $1`, [
        stream,
      ]);
      if (row === undefined) return [];
      if (row[2] === 't') throw new StreamDeletedError(stream);
      if (row[1] !== 't') return [];
      const metadata = row[3] === null ? {} : (JSON.parse(row[3]!) as StreamMetadata);
      const { minRevision, minRecordedAt } = visibleWindow(metadata, Number(row[0]));
      const [low, high] = direction === 'forwards' ? [Math.max(from, minRevision), Number.MAX_SAFE_INTEGER] : [minRevision, from];
      if (low > high) return [];
      const rows = await read(
        'reading a stream',
        `SELECT ${eventColumns} FROM ${s}.events
         WHERE stream = $1 AND revision BETWEEN $2 AND $3 AND recorded_at >= to_timestamp($4::float8 / 1000)
         ORDER BY revision ${direction === 'forwards' ? 'ASC' : 'DESC'} LIMIT $5`,
        [stream, low, high, minRecordedAt, limit],
      );
      return rows.map((event) => toRecorded(event as EventRow));
    },

    readAll: async (allQuery: AllQuery) => (await allRows(allQuery)).map(toRecorded),
    readAllRecords: async (allQuery: AllQuery) => (await allRows(allQuery)).map(toRecord),

    async readEvent(id) {
      const [row] = await read('reading an event', `SELECT ${eventColumns} FROM ${s}.events WHERE id = $1`, [id]);
      return row === undefined ? undefined : toRecorded(row as EventRow);
    },

    async getMetadata(stream) {
      const [row] = await read('reading metadata', `SELECT metadata, tombstoned FROM ${s}.streams WHERE name = $1`, [stream]);
      if (row?.[1] === 't') throw new StreamDeletedError(stream);
      return row?.[0] == null ? {} : (JSON.parse(row[0]) as StreamMetadata);
    },

    async listStreams({ prefix, after, limit }) {
      const rows = await read(
        'listing streams',
        `SELECT name, revision, live, tombstoned,
                (SELECT position FROM ${s}.events e WHERE e.stream = st.name AND e.revision = st.revision)
         FROM ${s}.streams st
         WHERE name COLLATE "C" >= $1 AND ($2::text IS NULL OR name COLLATE "C" > $2) AND ($3::text IS NULL OR name COLLATE "C" < $3)
           AND starts_with(name, $1) AND revision >= 0 AND (NOT starts_with(name, '$') OR starts_with($1, '$'))
         ORDER BY name COLLATE "C" LIMIT $4`,
        [prefix ?? '', after ?? null, nameAfterPrefix(prefix) ?? null, limit],
      );
      return rows.map(([name, revision, live, tombstoned, position]) =>
        streamInfo(name!, Number(revision), position === null ? undefined : BigInt(position!), live === 't', tombstoned === 't'),
      );
    },

    async readAcls() {
      const rows = await read(
        'reading acls',
        `SELECT name, (metadata::jsonb -> 'acl')::text FROM ${s}.streams WHERE (metadata::jsonb -> 'acl') IS NOT NULL`,
      );
      return new Map(rows.map(([name, acl]) => [name!, JSON.parse(acl!) as StreamAcl]));
    },

    async setMetadata(stream, metadata, expected) {
      const [row] = await query('writing metadata', `SELECT * FROM ${s}.set_metadata($1, $2, $3, $4)`, [
        stream,
        JSON.stringify(metadata),
        String(expected),
        uuidv7(),
      ]);
      if (row![0] === 't') return advanceAfterWrite();
      if (row![1] === 't') throw new StreamDeletedError(stream);
      checkWrite(systemStreamOf(stream), expected, stateOf(row![2]!, row![3]!, 'f'));
      throw new Error(`set_metadata refused a change of '${stream}' that the rules allow`);
    },

    async deleteStream(stream, expected, hard) {
      const [row] = await query('deleting a stream', `SELECT * FROM ${s}.delete_stream_logged($1, $2, $3, $4)`, [
        stream,
        String(expected),
        hard,
        uuidv7(),
      ]);
      if (row![0] === 't') return advanceAfterWrite();
      checkWrite(stream, expected, stateOf(row![1]!, row![2]!, row![3]!));
      throw new Error(`delete_stream refused a delete of '${stream}' that the rules allow`);
    },

    async importEvents(events, keepPositions) {
      const head = await importEvents(events, keepPositions);
      changes.advance(head);
      return head;
    },

    headPosition: readHead,

    async identity() {
      const [row] = await read('reading the identity', `SELECT store_id, epoch, epoch_start FROM ${s}.store`);
      return { storeId: row![0]!, epoch: Number(row![1]), epochStart: BigInt(row![2]!) };
    },

    async setIdentity({ storeId, epoch, epochStart }) {
      await query('writing the identity', `UPDATE ${s}.store SET store_id = $1, epoch = $2, epoch_start = $3`, [
        storeId,
        epoch,
        String(epochStart),
      ]);
    },

    async probeWrite() {
      const [row] = await read('probing for writes', `SELECT current_setting('transaction_read_only')`);
      if (row![0] === 'on')
        throw new UnavailableError('PostgreSQL takes no writes: it is a standby, or set to read only', { reason: 'db_read_only' });
    },

    diskUsage: readDiskUsage,

    backup: () => backupLog(pool, s),

    async stats() {
      const [row] = await read(
        'reading statistics',
        `SELECT (SELECT count(*) FROM ${s}.events WHERE NOT starts_with(stream, '$')),
                (SELECT count(*) FROM ${s}.streams WHERE live AND NOT starts_with(name, '$')),
                (SELECT last_position FROM ${s}.log), store_id, epoch, epoch_start
         FROM ${s}.store`,
      );
      return {
        engine: 'postgres',
        events: Number(row![0]),
        streams: Number(row![1]),
        headPosition: BigInt(row![2]!),
        storeId: row![3]!,
        epoch: Number(row![4]),
        epochStart: BigInt(row![5]!),
        disk: await readDiskUsage(),
      };
    },

    async close() {
      await appends.drain();
      await wakeUps.stop();
      changes.close();
      await pool.end();
    },
  };
};
