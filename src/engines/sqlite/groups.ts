/**
 * Consumer groups on SQLite (bus/groups/engine.ts): the rules of the memory engine, in SQL on the store's
 * file, so they survive restarts. One process owns the file, so its clock is the clock. Every change goes
 * through the write queue: the settles and leases of many consumers that arrive together share one
 * transaction and one fsync with the appends, and a call resolves only once its change is durable. Reads
 * (a group, its state, its parked events) see what is committed.
 */
import type Database from 'better-sqlite3';
import type { DeliveryRef, EntryInput, GroupRow, GroupsEngine, Lease, ReplayCursor, SettleAction } from '../../bus/groups/engine.js';
import { maxRetryDelayMs, retryDelay, type GroupSettings, type ParkedEvent, type SettleResult } from '../../bus/groups/model.js';
import { eventColumns, toRecorded, type EventRow } from './columns.js';
import type { WriteQueue } from './write-queue.js';

const encodeSettings = (settings: GroupSettings) => JSON.stringify({ ...settings, from: String(settings.from) });
const decodeSettings = (text: string): GroupSettings => {
  const stored = JSON.parse(text) as GroupSettings & { from: string };
  return { ...stored, from: BigInt(stored.from) };
};
const encodeCursor = (cursor: ReplayCursor) =>
  JSON.stringify({ ...cursor, from: String(cursor.from), to: String(cursor.to), next: String(cursor.next) });
const decodeCursor = (text: string): ReplayCursor => {
  const stored = JSON.parse(text) as ReplayCursor & Record<'from' | 'to' | 'next', string>;
  return { ...stored, from: BigInt(stored.from), to: BigInt(stored.to), next: BigInt(stored.next) };
};

interface GroupRecord {
  id: number;
  name: string;
  settings: string;
  last_position: number;
  replay: string | null;
}

interface EntryRecord {
  entry: number;
  position: number;
  stream: string;
  replay: number;
  attempt: number;
  consumer: string | null;
  lease_until: number | null;
}

/** A due entry as the lease reads it: entry, attempt, replay, stream, then its event (all null when gone). */
type DueRow = [number, number, number, string, ...EventRow];

/** Under pinned, new entries checked one by one before only each stream's first is looked at. */
const pinnedWindow = 256;

/** The wait before the next attempt, as retryDelay of model.ts computes it, in SQL over an entry's attempt. */
const retryDelaySql = `min($retryDelayMs * (1 << min(attempt - 1, 30)), ${maxRetryDelayMs})`;

export const createSqliteGroups = (db: Database.Database, queue: WriteQueue): GroupsEngine => {
  const groupColumns = 'id, name, settings, last_position, replay';
  const sql = {
    byName: db.prepare<[string], GroupRecord>(`SELECT ${groupColumns} FROM groups WHERE name = ?`),
    byId: db.prepare<[number], GroupRecord>(`SELECT ${groupColumns} FROM groups WHERE id = ?`),
    all: db.prepare<[], GroupRecord>(`SELECT ${groupColumns} FROM groups ORDER BY name`),
    insert: db.prepare<[string, string, number]>('INSERT INTO groups (name, settings, last_position) VALUES (?, ?, ?)'),
    update: db.prepare<[string, string]>('UPDATE groups SET settings = ? WHERE name = ?'),
    delete: db.prepare<[string]>('DELETE FROM groups WHERE name = ?'),
    deleteOwned: ['group_entries', 'group_parked', 'group_consumers', 'group_settles'].map((table) =>
      db.prepare<[number]>(`DELETE FROM ${table} WHERE group_id = ?`),
    ),
    moveCursor: db.prepare<[number, number, number]>('UPDATE groups SET last_position = ? WHERE id = ? AND last_position = ?'),
    setReplay: db.prepare<[string | null, number]>('UPDATE groups SET replay = ? WHERE id = ?'),
    addEntry: db.prepare<[number, number, string, number, number]>(
      'INSERT INTO group_entries (group_id, position, stream, replay, due_at) VALUES (?, ?, ?, ?, ?)',
    ),
    seen: db.prepare<[number, string, number]>(
      `INSERT INTO group_consumers (group_id, name, last_seen_at) VALUES (?, ?, ?)
       ON CONFLICT (group_id, name) DO UPDATE SET last_seen_at = excluded.last_seen_at`,
    ),
    parkExpired: db.prepare(
      `INSERT OR REPLACE INTO group_parked (group_id, position, stream, reason, attempts, parked_at)
       SELECT group_id, position, stream, 'ack timeout after ' || attempt || ' attempts', attempt, $now FROM group_entries
       WHERE group_id = $group AND consumer IS NOT NULL AND lease_until <= $now AND attempt >= $maxAttempts`,
    ),
    deleteExpired: db.prepare(
      `DELETE FROM group_entries
       WHERE group_id = $group AND consumer IS NOT NULL AND lease_until <= $now AND attempt >= $maxAttempts`,
    ),
    releaseExpired: db.prepare(
      `UPDATE group_entries SET due_at = lease_until + ${retryDelaySql}, consumer = NULL, lease_until = NULL
       WHERE group_id = $group AND consumer IS NOT NULL AND lease_until <= $now`,
    ),
    pending: db.prepare<[number]>('SELECT count(*) FROM group_entries WHERE group_id = ?').pluck(),
    held: db.prepare<[number, string]>('SELECT count(*) FROM group_entries WHERE group_id = ? AND consumer = ?').pluck(),
    /** Due entries never delivered (`new`) or waiting for a retry, in entry order; under `pinned`, only the first of their stream. */
    due: Object.fromEntries(
      (['new', 'retried'] as const).map((kind) => [
        kind,
        db
          .prepare(
            `SELECT e.entry, e.attempt, e.replay, e.stream, ${eventColumns
              .split(', ')
              .map((column) => `ev.${column}`)
              .join(', ')}
             FROM group_entries e LEFT JOIN events ev ON ev.position = e.position
             WHERE e.group_id = $group AND ${kind === 'new' ? 'e.attempt = 0' : 'e.attempt > 0 AND e.consumer IS NULL'} AND e.due_at <= $now AND e.entry <= $edge
               AND ($pinned = 0 OR NOT EXISTS (
                 SELECT 1 FROM group_entries o WHERE o.group_id = e.group_id AND o.stream = e.stream AND o.entry < e.entry))
             ORDER BY e.entry LIMIT $limit`,
          )
          .raw(true),
      ]),
    ) as Record<'new' | 'retried', Database.Statement>,
    lease: db.prepare<[string, number, string]>(
      'UPDATE group_entries SET attempt = attempt + 1, consumer = ?, lease_until = ? WHERE entry IN (SELECT value FROM json_each(?))',
    ),
    settleAll: db
      .prepare<[number, string]>(
        'DELETE FROM group_entries WHERE group_id = ? AND entry IN (SELECT value FROM json_each(?)) RETURNING entry',
      )
      .pluck(),
    /** The last of the first `pinnedWindow` new entries, if there are more. */
    windowEdge: db
      .prepare<[number, number]>('SELECT entry FROM group_entries WHERE group_id = ? AND attempt = 0 ORDER BY entry LIMIT 1 OFFSET ?')
      .pluck(),
    /**
     * Under pinned, past the window: each stream's first entry (found by a skip scan of the stream index,
     * one step per stream), if it is a new entry after `$edge` and due; in entry order.
     */
    heads: db
      .prepare(
        `WITH RECURSIVE streams (name) AS (
           SELECT min(stream) FROM group_entries WHERE group_id = $group
           UNION ALL
           SELECT (SELECT min(stream) FROM group_entries WHERE group_id = $group AND stream > streams.name)
           FROM streams WHERE streams.name IS NOT NULL
         )
         SELECT e.entry, e.attempt, e.replay, e.stream, ${eventColumns
           .split(', ')
           .map((column) => `ev.${column}`)
           .join(', ')}
         FROM streams
         JOIN group_entries e ON e.entry = (SELECT min(entry) FROM group_entries f WHERE f.group_id = $group AND f.stream = streams.name)
         LEFT JOIN events ev ON ev.position = e.position
         WHERE e.entry > $edge AND e.attempt = 0 AND e.due_at <= $now
         ORDER BY e.entry LIMIT $limit`,
      )
      .raw(true),
    deleteEntry: db.prepare<[number]>('DELETE FROM group_entries WHERE entry = ?'),
    /** The waiting entries of a stream whose events are gone (a deleted stream), all at once. */
    deleteGone: db.prepare<[number, string]>(
      `DELETE FROM group_entries WHERE group_id = ? AND stream = ? AND consumer IS NULL
         AND NOT EXISTS (SELECT 1 FROM events ev WHERE ev.position = group_entries.position)`,
    ),
    nextDue: db
      .prepare<[number, number]>(
        `SELECT min(CASE WHEN consumer IS NULL THEN due_at ELSE lease_until END) FROM group_entries
         WHERE group_id = ? AND CASE WHEN consumer IS NULL THEN due_at ELSE lease_until END > ?`,
      )
      .pluck(),
    entry: db.prepare<[number, number], EntryRecord>(
      'SELECT entry, position, stream, replay, attempt, consumer, lease_until FROM group_entries WHERE entry = ? AND group_id = ?',
    ),
    release: db.prepare<[number, number]>('UPDATE group_entries SET due_at = ?, consumer = NULL, lease_until = NULL WHERE entry = ?'),
    extend: db.prepare<[number, number]>('UPDATE group_entries SET lease_until = ? WHERE entry = ?'),
    park: db.prepare<[number, number, string, string, number, number]>(
      'INSERT OR REPLACE INTO group_parked (group_id, position, stream, reason, attempts, parked_at) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    countSettles: db.prepare<[number, number, number]>(
      `INSERT INTO group_settles (group_id, second, count) VALUES (?, ?, ?)
       ON CONFLICT (group_id, second) DO UPDATE SET count = count + excluded.count`,
    ),
    pruneSettles: db.prepare<[number, number]>('DELETE FROM group_settles WHERE group_id = ? AND second <= ?'),
    settledSince: db
      .prepare<[number, number]>('SELECT coalesce(sum(count), 0) FROM group_settles WHERE group_id = ? AND second > ?')
      .pluck(),
    lowestLive: db
      .prepare<[number]>('SELECT position FROM group_entries WHERE group_id = ? AND replay = 0 ORDER BY position LIMIT 1')
      .pluck(),
    recordedAt: db.prepare<[number]>('SELECT recorded_at FROM events WHERE position = ?').pluck(),
    inFlight: db
      .prepare<[number, number]>('SELECT count(*) FROM group_entries WHERE group_id = ? AND consumer IS NOT NULL AND lease_until > ?')
      .pluck(),
    parkedCount: db.prepare<[number]>('SELECT count(*) FROM group_parked WHERE group_id = ?').pluck(),
    consumers: db.prepare<[number, number, number], { name: string; last_seen_at: number; in_flight: number }>(
      `SELECT c.name, c.last_seen_at, (SELECT count(*) FROM group_entries e
         WHERE e.group_id = c.group_id AND e.consumer = c.name AND e.lease_until > ?) AS in_flight
       FROM group_consumers c WHERE c.group_id = ? AND c.last_seen_at > ? ORDER BY c.name`,
    ),
    parked: db
      .prepare(
        `SELECT p.reason, p.attempts, p.parked_at, ${eventColumns
          .split(', ')
          .map((column) => `ev.${column}`)
          .join(', ')}
         FROM group_parked p JOIN events ev ON ev.position = p.position
         WHERE p.group_id = ? AND p.position > ? ORDER BY p.position LIMIT ?`,
      )
      .raw(true),
    parkedPositions: db.prepare<[number, number], { position: number; stream: string }>(
      'SELECT position, stream FROM group_parked WHERE group_id = ? ORDER BY position LIMIT ?',
    ),
    parkedAt: db.prepare<[number, number], { position: number; stream: string }>(
      'SELECT position, stream FROM group_parked WHERE group_id = ? AND position = ?',
    ),
    unpark: db.prepare<[number, number]>('DELETE FROM group_parked WHERE group_id = ? AND position = ?'),
  };

  const rowOf = (record: GroupRecord): GroupRow => ({
    id: record.id,
    name: record.name,
    settings: decodeSettings(record.settings),
    lastPosition: BigInt(record.last_position),
    ...(record.replay === null ? {} : { replay: decodeCursor(record.replay) }),
  });

  /** A write on group `id` in the queue's next transaction; `missing` when the group is gone by then. */
  const onGroup = <T>(id: number, missing: T, change: (group: GroupRecord, settings: GroupSettings, now: number) => T): Promise<T> =>
    queue.write(() => {
      const group = sql.byId.get(id);
      return group === undefined ? missing : change(group, decodeSettings(group.settings), Date.now());
    });

  /** Counts settles for the rate, and forgets those older than a minute. */
  const counted = (group: number, now: number, count: number) => {
    if (count === 0) return;
    const second = Math.floor(now / 1000);
    sql.countSettles.run(group, second, count);
    sql.pruneSettles.run(group, second - 60);
  };

  const addEntries = (group: number, entries: EntryInput[], replay: boolean, now: number) => {
    for (const { position, stream } of entries) sql.addEntry.run(group, Number(position), stream, replay ? 1 : 0, now);
  };

  const parkOne = (group: number, entry: EntryRecord, reason: string, now: number) => {
    sql.park.run(group, entry.position, entry.stream, reason, entry.attempt, now);
    sql.deleteEntry.run(entry.entry);
  };

  /** The parked events chosen (a position given twice counts once), in position order. */
  const selectParked = (group: number, positions: bigint[] | undefined, limit: number) =>
    positions === undefined
      ? sql.parkedPositions.all(group, limit)
      : [...new Set(positions)]
          .flatMap((position) => sql.parkedAt.get(group, Number(position)) ?? [])
          .sort((a, b) => a.position - b.position)
          .slice(0, limit);

  const noSettles = (): SettleResult => ({ settled: [], alreadySettled: [], stale: [] });

  /**
   * Due entries of one kind, at most `limit`, in entry order. Under pinned an entry qualifies only as the
   * first unsettled entry of its stream; new entries are checked one by one among the first `pinnedWindow`,
   * and beyond them only each stream's first entry is looked at, so that a long backlog in one stream is not
   * read through on every lease. (Retries need no window: under pinned an entry is delivered only as its
   * stream's first, and stays first until it is settled.)
   */
  const dueRows = (kind: 'new' | 'retried', group: number, now: number, pinned: boolean, limit: number): DueRow[] => {
    const params = { group, now, pinned: pinned ? 1 : 0, limit };
    const edge = pinned && kind === 'new' ? (sql.windowEdge.get(group, pinnedWindow - 1) as number | undefined) : undefined;
    const rows = sql.due[kind].all({ ...params, edge: edge ?? Number.MAX_SAFE_INTEGER }) as DueRow[];
    if (edge === undefined || rows.length >= limit) return rows;
    return [...rows, ...(sql.heads.all({ group, now, edge, limit: limit - rows.length }) as DueRow[])];
  };

  /** Acks or skips in one statement: an entry still there is settled by the first id that names it. */
  const settleAll = (group: number, refs: DeliveryRef[], now: number): SettleResult => {
    const removed = new Set(sql.settleAll.all(group, JSON.stringify(refs.map((ref) => ref.entry))) as number[]);
    counted(group, now, removed.size);
    const result = noSettles();
    for (const ref of refs) {
      if (removed.delete(ref.entry)) result.settled.push(ref.id);
      else result.alreadySettled.push(ref.id);
    }
    return result;
  };

  return {
    create: (name, settings, lastPosition) =>
      queue.write(() => {
        const existing = sql.byName.get(name);
        if (existing !== undefined) return { created: false, group: rowOf(existing) };
        sql.insert.run(name, encodeSettings(settings), Number(lastPosition));
        return { created: true, group: rowOf(sql.byName.get(name)!) };
      }),

    async get(name) {
      const record = sql.byName.get(name);
      return record === undefined ? undefined : rowOf(record);
    },

    async list() {
      return sql.all.all().map(rowOf);
    },

    update: (name, settings) =>
      queue.write(() => {
        sql.update.run(encodeSettings(settings), name);
        const record = sql.byName.get(name);
        return record === undefined ? undefined : rowOf(record);
      }),

    delete: (name) =>
      queue.write(() => {
        const record = sql.byName.get(name);
        if (record === undefined) return false;
        for (const statement of sql.deleteOwned) statement.run(record.id);
        sql.delete.run(name);
        return true;
      }),

    add: (groupId, after, to, entries) =>
      onGroup(groupId, false, (group, _settings, now) => {
        if (sql.moveCursor.run(Number(to), groupId, Number(after)).changes === 0) return false;
        addEntries(group.id, entries, false, now);
        return true;
      }),

    startReplay: (groupId, cursor) =>
      onGroup(groupId, false, (group) => {
        if (group.replay !== null) return false;
        sql.setReplay.run(encodeCursor(cursor), groupId);
        return true;
      }),

    addReplay: (groupId, after, to, entries) =>
      onGroup(groupId, false, (group, _settings, now) => {
        const cursor = group.replay === null ? undefined : decodeCursor(group.replay);
        if (cursor === undefined || cursor.next !== after) return false;
        addEntries(group.id, entries, true, now);
        sql.setReplay.run(to >= cursor.to ? null : encodeCursor({ ...cursor, next: to }), groupId);
        return true;
      }),

    lease: (groupId, consumer, max) =>
      onGroup(groupId, { leases: [] }, (group, settings, now) => {
        sql.seen.run(group.id, consumer, now);
        if (settings.paused) return { leases: [] };
        const expiry = { group: group.id, now, maxAttempts: settings.maxRetries + 1 };
        sql.parkExpired.run(expiry);
        counted(group.id, now, sql.deleteExpired.run(expiry).changes);
        sql.releaseExpired.run({ group: group.id, now, retryDelayMs: settings.retryDelayMs });

        let room = Math.min(max, settings.maxInFlight - (sql.held.get(group.id, consumer) as number));
        const leases: Lease[] = [];
        // Retries go before new events; within each, entry order.
        for (const kind of ['retried', 'new'] as const) {
          // Entries whose event is gone are settled and take no room, so read again until the room is
          // filled or a read finds only entries to deliver (then nothing more is due). Meeting one settles
          // every waiting entry of its stream whose event is gone, so that a deleted backlog (under pinned
          // met one entry per read) costs one statement, not one read per entry.
          let gone = 1;
          while (room > 0 && gone > 0) {
            const batch: Lease[] = [];
            gone = 0;
            for (const [entry, attempt, replay, stream, ...event] of dueRows(kind, group.id, now, settings.strategy === 'pinned', room)) {
              if (event[0] === null) {
                // Its event left the log (a deleted stream): nothing to deliver, so it is settled.
                gone += sql.deleteGone.run(group.id, stream).changes;
                continue;
              }
              batch.push({ entry, attempt: attempt + 1, replay: replay === 1, event: toRecorded(event) });
              room -= 1;
            }
            counted(group.id, now, gone);
            // Marked before any read again, which must not find them waiting.
            if (batch.length > 0) sql.lease.run(consumer, now + settings.ackTimeoutMs, JSON.stringify(batch.map((lease) => lease.entry)));
            leases.push(...batch);
          }
        }
        if (leases.length > 0) return { leases };
        const next = sql.nextDue.get(group.id, now) as number | null;
        return next === null ? { leases } : { leases, nextDueInMs: next - now };
      }),

    settle: (groupId, refs: DeliveryRef[], action: SettleAction, reason) =>
      onGroup(groupId, noSettles(), (group, settings, now) => {
        if (action === 'ack' || action === 'skip') return settleAll(group.id, refs, now);
        const result = noSettles();
        let removed = 0;
        for (const ref of refs) {
          const entry = sql.entry.get(ref.entry, group.id);
          if (entry === undefined) {
            result.alreadySettled.push(ref.id);
            continue;
          }
          if (action === 'retry') {
            if (entry.attempt !== ref.attempt || entry.consumer === null) {
              result.stale.push(ref.id);
              continue;
            }
            if (entry.attempt < settings.maxRetries + 1) sql.release.run(now + retryDelay(settings, entry.attempt), entry.entry);
            else {
              parkOne(group.id, entry, reason ?? `failed ${entry.attempt} attempts`, now);
              removed += 1;
            }
          } else {
            if (action === 'park') parkOne(group.id, entry, reason ?? 'parked by a consumer', now);
            else sql.deleteEntry.run(entry.entry);
            removed += 1;
          }
          result.settled.push(ref.id);
        }
        counted(group.id, now, removed);
        return result;
      }),

    extend: (groupId, refs, ms) =>
      onGroup(groupId, noSettles(), (group, _settings, now) => {
        const result = noSettles();
        for (const ref of refs) {
          const entry = sql.entry.get(ref.entry, group.id);
          if (entry === undefined) result.alreadySettled.push(ref.id);
          // An expired lease (not yet swept by a lease call) is not kept: it may already be due again.
          else if (entry.attempt !== ref.attempt || entry.consumer === null || entry.lease_until! <= now) result.stale.push(ref.id);
          else {
            sql.extend.run(now + ms, entry.entry);
            result.settled.push(ref.id);
          }
        }
        return result;
      }),

    async state(groupId) {
      const now = Date.now();
      const since = Math.floor(now / 1000) - 60;
      const record = sql.byId.get(groupId);
      if (record === undefined) return { checkpoint: 0n, pending: 0, inFlight: 0, parked: 0, consumers: [], settledLastMinute: 0 };
      const settings = decodeSettings(record.settings);
      const lowest = sql.lowestLive.get(groupId) as number | undefined;
      const recordedAt = lowest === undefined ? undefined : (sql.recordedAt.get(lowest) as number | undefined);
      return {
        checkpoint: lowest === undefined ? BigInt(record.last_position) : BigInt(lowest) - 1n,
        pending: sql.pending.get(groupId) as number,
        inFlight: sql.inFlight.get(groupId, now) as number,
        parked: sql.parkedCount.get(groupId) as number,
        consumers: sql.consumers
          .all(now, groupId, now - settings.consumerTimeoutMs)
          .map(({ name, last_seen_at, in_flight }) => ({ name, inFlight: in_flight, lastSeenAt: new Date(last_seen_at) })),
        settledLastMinute: sql.settledSince.get(groupId, since) as number,
        ...(recordedAt === undefined ? {} : { oldestUnsettledAt: new Date(recordedAt) }),
      };
    },

    async pending(groupId) {
      return sql.pending.get(groupId) as number;
    },

    async parked(groupId, after, limit) {
      const rows = sql.parked.all(groupId, Number(after), limit) as [string, number, number, ...EventRow][];
      return rows.map(([reason, attempts, parkedAt, ...event]): ParkedEvent => ({
        event: toRecorded(event),
        reason,
        attempts,
        parkedAt: new Date(parkedAt),
      }));
    },

    replayParked: (groupId, positions, limit) =>
      onGroup(groupId, 0, (group, _settings, now) => {
        const chosen = selectParked(group.id, positions, limit);
        for (const { position } of chosen) sql.unpark.run(group.id, position);
        addEntries(
          group.id,
          chosen.map(({ position, stream }) => ({ position: BigInt(position), stream })),
          true,
          now,
        );
        return chosen.length;
      }),

    deleteParked: (groupId, positions, limit) =>
      onGroup(groupId, 0, (group) => {
        const chosen = selectParked(group.id, positions, limit);
        for (const { position } of chosen) sql.unpark.run(group.id, position);
        return chosen.length;
      }),
  };
};
