/**
 * Consumer groups on PostgreSQL (bus/groups/engine.ts, DESIGN.md section 7): all group state lives in the
 * database, and any number of Annals servers call these functions at once on the same groups. The tables
 * and the three functions that do the work (`group_lease`, `group_settle`, `group_extend`) are in
 * migrations.ts; each call here is one statement, so one transaction and one round trip (`create`
 * reads the row back with a second).
 *
 * ## How concurrent servers stay correct
 *
 * Sessions run READ COMMITTED; in the plpgsql functions each statement sees what committed before it
 * started.
 *
 * - **One clock.** Every deadline (lease expiry, retry due time, consumer last seen, settle rate) is
 *   milliseconds on the database's clock (`now_ms()`, clock_timestamp), never a server's own clock.
 * - **Entries of a group are added in commit order.** `add` and `addReplay` are compare-and-set updates
 *   of the group's row (last_position, or the replay cursor) in the same statement as their inserts, and
 *   `replayParked` locks that row too, so they take turns and each draws its entry ids while it holds
 *   the row: entry ids of a group increase in the order they become visible, and a new entry never
 *   comes before one that is already there. Two servers that read the same source range race on the
 *   cursor; the loser's update matches no row and inserts nothing (a unique index on (group, position)
 *   of live entries guards this besides).
 * - **Leases run side by side.** `group_lease` takes entry rows with FOR UPDATE SKIP LOCKED, and a row
 *   that another lease changed since the statement began is checked again on its latest version
 *   (PostgreSQL's re-check of a locked row), so an entry is never leased twice: a second leaser skips it
 *   while it is locked, and finds it leased once that commits. The pinned rule needs no more: an entry
 *   qualifies only while no entry of its stream has a lower id (or is leased). Since a lower entry never
 *   appears later (above), only the first entry of a stream can ever be leased, and that one entry is
 *   guarded by its row lock; so at most one delivery per stream is unsettled, and a stream's entries go
 *   in entry order. The one decision that spans rows, a consumer's maxInFlight, is made by one lease of
 *   that consumer at a time: each lease first upserts the consumer's row in `group_consumers`, which it
 *   then holds until commit, and counts the consumer's leases after that. (A lock on the group's row taken
 *   by every lease, FOR NO KEY UPDATE instead of FOR KEY SHARE below, would be simpler to argue, but
 *   leases of a group then queue behind each other: with 16 consumers on two servers pulling batches of
 *   20, a lease took about 30 ms at the median instead of about 9 ms, and the queue grows with every
 *   consumer added.)
 * - **Nothing waits in a circle.** A lease takes the group's row FOR KEY SHARE (so a delete of the group
 *   waits for it, or it finds no group) and waits for no entry row; its clean-ups (silent consumers, old
 *   settle counts) also skip locked rows. Settles and extends take the group row FOR KEY SHARE too, then
 *   lock their entries in entry order; parking inserts in position order; the settle counter is touched
 *   last. Should PostgreSQL still report a deadlock (or a serialisation failure), the statement was
 *   rolled back whole and is run again.
 * - **Stale and settled are told apart after the locks.** A settle that finds an entry gone reports it
 *   `alreadySettled`; a retry or extend of an attempt that is not current (or of a lease released)
 *   matches no row and is `stale`.
 *
 * Entries whose event is gone from the log (a soft-deleted stream) are deleted, and counted as settled,
 * when a lease comes to one of them (then all waiting entries of that stream whose events are gone go
 * together); parked events whose event is gone are deleted when a page of parked events reaches them.
 */
import pg from 'pg';
import type {
  DeliveryRef,
  EntryInput,
  GroupRow,
  GroupState,
  GroupsEngine,
  Lease,
  LeaseResult,
  ReplayCursor,
  SettleAction,
} from '../../bus/groups/engine.js';
import type { GroupSettings, ParkedEvent, SettleResult } from '../../bus/groups/model.js';
import { compareNames } from '../../store/rules.js';
import { toRecorded, type EventRow } from './event-rows.js';

type Query = (doing: string, text: string, values?: unknown[]) => Promise<string[][]>;

export interface GroupsSql {
  /** The quoted schema. */
  s: string;
  /** Runs one statement; failures come translated (`unavailable`, ...). */
  query: Query;
  /** Like `query`, for statements that change nothing, run again on a connection found dead. */
  read: Query;
}

/** An event's columns under the alias `ev`, in the order of event-rows.ts. */
const eventColumnsOf = (alias: string) =>
  ['position', 'stream', 'revision', 'id', 'type', 'data', 'metadata']
    .map((column) => `${alias}.${column}`)
    .concat(`extract(epoch FROM ${alias}.recorded_at)::float8 * 1000`)
    .join(', ');

/** The states in which PostgreSQL rolled the whole statement back for a conflict of its own making. */
const rolledBackForConflict = (error: unknown) => error instanceof pg.DatabaseError && (error.code === '40P01' || error.code === '40001');

const retryConflicts = async <T>(work: () => Promise<T>): Promise<T> => {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (!rolledBackForConflict(error) || attempt >= 5) throw error;
    }
  }
};

const encodeSettings = (settings: GroupSettings): string => JSON.stringify({ ...settings, from: settings.from.toString() });
const decodeSettings = (text: string): GroupSettings => {
  const stored = JSON.parse(text) as Omit<GroupSettings, 'from'> & { from: string };
  return { ...stored, from: BigInt(stored.from) };
};

type StoredCursor = Record<'from' | 'to' | 'next', string> & Pick<ReplayCursor, 'stream' | 'category'>;
const encodeCursor = (cursor: ReplayCursor): string =>
  JSON.stringify({ ...cursor, from: cursor.from.toString(), to: cursor.to.toString(), next: cursor.next.toString() });
const decodeCursor = (text: string): ReplayCursor => {
  const stored = JSON.parse(text) as StoredCursor;
  return { ...stored, from: BigInt(stored.from), to: BigInt(stored.to), next: BigInt(stored.next) };
};

/**
 * What a settle or extend did with each id, in the order given, from the rows of `group_settle` /
 * `group_extend`: `done` rows name the (entry, attempt) changed, `present` rows the entries still there
 * afterwards. An entry settles once: a later id of it in the same call is `alreadySettled` (or `stale`
 * for a retry, as the entry is still there); an extend holds for every id of the lease it extended.
 */
const settleResult = (refs: DeliveryRef[], rows: string[][], anyAttempt: boolean, once = true): SettleResult => {
  const done = new Set<string>();
  const present = new Set<number>();
  for (const [entry, attempt, outcome] of rows) {
    if (outcome === 'done') done.add(anyAttempt ? entry! : `${entry}.${attempt}`);
    else present.add(Number(entry));
  }
  const result: SettleResult = { settled: [], alreadySettled: [], stale: [] };
  for (const ref of refs) {
    const key = anyAttempt ? String(ref.entry) : `${ref.entry}.${ref.attempt}`;
    if (once ? done.delete(key) : done.has(key)) result.settled.push(ref.id);
    else if (present.has(ref.entry)) result.stale.push(ref.id);
    else result.alreadySettled.push(ref.id);
  }
  return result;
};

export const createPostgresGroups = ({ s, query, read }: GroupsSql): GroupsEngine => {
  const rowColumns = `g.id, g.name, g.settings::text, g.last_position, g.replay::text`;
  const toRow = ([id, name, settings, lastPosition, replay]: string[]): GroupRow => {
    const row: GroupRow = {
      id: Number(id),
      name: name!,
      settings: decodeSettings(settings!),
      lastPosition: BigInt(lastPosition!),
    };
    if (replay !== null && replay !== undefined) row.replay = decodeCursor(replay);
    return row;
  };
  const get = async (name: string) => {
    const [row] = await read('reading a group', `SELECT ${rowColumns} FROM ${s}.groups g WHERE g.name = $1`, [name]);
    return row === undefined ? undefined : toRow(row);
  };
  /**
   * Inserts `entries` if `update`, a compare-and-set of the group's cursor (`$1` the group, `$2` the
   * position it expects, `$3` the new one), changed the group's row: one statement, so two servers never
   * add the same events. True when it did.
   */
  const addEntries = async (
    doing: string,
    update: string,
    replay: boolean,
    [groupId, after, to, entries]: [number, bigint, bigint, EntryInput[]],
  ): Promise<boolean> => {
    const [row] = await query(
      doing,
      `WITH g AS (${update} RETURNING id), added AS (
         INSERT INTO ${s}.group_entries (group_id, position, stream, replay)
         SELECT g.id, x.position, x.stream, ${replay} FROM g, unnest($4::bigint[], $5::text[]) AS x(position, stream)
         ORDER BY x.position
       )
       SELECT count(*) FROM g`,
      [groupId, after.toString(), to.toString(), entries.map((entry) => entry.position.toString()), entries.map((entry) => entry.stream)],
    );
    return row![0] === '1';
  };
  const selection = (positions: bigint[] | undefined) => (positions === undefined ? null : positions.map(String));

  return {
    async create(name, settings, lastPosition) {
      for (;;) {
        const inserted = await query(
          'creating a group',
          `INSERT INTO ${s}.groups (name, settings, last_position) VALUES ($1, $2::jsonb, $3)
           ON CONFLICT (name) DO NOTHING RETURNING id`,
          [name, encodeSettings(settings), lastPosition.toString()],
        );
        const group = await get(name);
        // Deleted by another server between the two statements: try again.
        if (group !== undefined) return { created: inserted.length > 0 && Number(inserted[0]![0]) === group.id, group };
      }
    },

    get,

    async list() {
      const rows = await read('listing groups', `SELECT ${rowColumns} FROM ${s}.groups g ORDER BY g.name COLLATE "C"`);
      return rows.map(toRow);
    },

    async update(name, settings) {
      const [row] = await query(
        'updating a group',
        `UPDATE ${s}.groups g SET settings = $2::jsonb WHERE g.name = $1 RETURNING ${rowColumns}`,
        [name, encodeSettings(settings)],
      );
      return row === undefined ? undefined : toRow(row);
    },

    async delete(name) {
      const rows = await retryConflicts(() => query('deleting a group', `DELETE FROM ${s}.groups WHERE name = $1 RETURNING id`, [name]));
      return rows.length > 0;
    },

    add: (groupId, after, to, entries) =>
      addEntries(
        'adding events to a group',
        `UPDATE ${s}.groups SET last_position = $3::bigint WHERE id = $1 AND last_position = $2::bigint`,
        false,
        [groupId, after, to, entries],
      ),

    async startReplay(groupId, cursor) {
      const rows = await query(
        'starting a replay',
        `UPDATE ${s}.groups SET replay = $2::jsonb
         WHERE id = $1 AND (replay IS NULL OR replay ->> 'next' = replay ->> 'to') RETURNING id`,
        [groupId, encodeCursor(cursor)],
      );
      return rows.length > 0;
    },

    addReplay: (groupId, after, to, entries) =>
      addEntries(
        'adding replayed events to a group',
        `UPDATE ${s}.groups
         SET replay = CASE WHEN (replay ->> 'to')::bigint <= $3::bigint THEN NULL
                           ELSE jsonb_set(replay, '{next}', to_jsonb(($3::bigint)::text)) END
         WHERE id = $1 AND replay ->> 'next' = ($2::bigint)::text`,
        true,
        [groupId, after, to, entries],
      ),

    async lease(groupId, consumer, max): Promise<LeaseResult> {
      const rows = await retryConflicts(() =>
        query('leasing group entries', `SELECT * FROM ${s}.group_lease($1, $2, $3)`, [groupId, consumer, max]),
      );
      const leases: Lease[] = [];
      let nextDueInMs: number | undefined;
      for (const row of rows) {
        if (row[0] === null) {
          nextDueInMs = Number(row[3]);
          continue;
        }
        leases.push({
          entry: Number(row[0]),
          attempt: Number(row[1]),
          replay: row[2] === 't',
          event: toRecorded(row.slice(4) as EventRow),
        });
      }
      return leases.length === 0 && nextDueInMs !== undefined ? { leases, nextDueInMs } : { leases };
    },

    async settle(groupId, refs, action: SettleAction, reason) {
      const rows = await retryConflicts(() =>
        query('settling group deliveries', `SELECT * FROM ${s}.group_settle($1, $2::bigint[], $3::int[], $4, $5)`, [
          groupId,
          refs.map((ref) => ref.entry),
          refs.map((ref) => ref.attempt),
          action,
          reason ?? null,
        ]),
      );
      return settleResult(refs, rows, action !== 'retry');
    },

    async extend(groupId, refs, ms) {
      const rows = await retryConflicts(() =>
        query('extending group leases', `SELECT * FROM ${s}.group_extend($1, $2::bigint[], $3::int[], $4)`, [
          groupId,
          refs.map((ref) => ref.entry),
          refs.map((ref) => ref.attempt),
          ms,
        ]),
      );
      return settleResult(refs, rows, false, false);
    },

    async state(groupId): Promise<GroupState> {
      const [row] = await read(
        'reading the state of a group',
        `WITH now AS (SELECT ${s}.now_ms() AS ms),
         g AS (
           SELECT g.id, g.settings, g.last_position,
                  (SELECT min(e.position) FROM ${s}.group_entries e WHERE e.group_id = g.id AND NOT e.replay) AS lowest
           FROM ${s}.groups g WHERE g.id = $1
         )
         SELECT g.last_position, g.lowest,
           (SELECT count(*) FROM ${s}.group_entries e WHERE e.group_id = g.id),
           (SELECT count(*) FROM ${s}.group_entries e WHERE e.group_id = g.id AND e.consumer IS NOT NULL AND e.lease_until > now.ms),
           (SELECT count(*) FROM ${s}.group_parked p WHERE p.group_id = g.id),
           (SELECT json_agg(json_build_array(c.name, c.last_seen_at::text,
                     (SELECT count(*) FROM ${s}.group_entries e
                      WHERE e.group_id = g.id AND e.consumer = c.name AND e.lease_until > now.ms)))
            FROM ${s}.group_consumers c
            WHERE c.group_id = g.id AND c.last_seen_at > now.ms - (g.settings ->> 'consumerTimeoutMs')::bigint),
           (SELECT coalesce(sum(r.count), 0) FROM ${s}.group_settles r WHERE r.group_id = g.id AND r.second > now.ms / 1000 - 60),
           (SELECT extract(epoch FROM ev.recorded_at)::float8 * 1000 FROM ${s}.events ev WHERE ev.position = g.lowest)
         FROM g, now`,
        [groupId],
      );
      if (row === undefined) return { checkpoint: 0n, pending: 0, inFlight: 0, parked: 0, consumers: [], settledLastMinute: 0 };
      const [lastPosition, lowest, pending, inFlight, parked, consumers, settled, oldest] = row;
      const state: GroupState = {
        checkpoint: lowest === null ? BigInt(lastPosition!) : BigInt(lowest!) - 1n,
        pending: Number(pending),
        inFlight: Number(inFlight),
        parked: Number(parked),
        consumers: ((consumers === null ? [] : JSON.parse(consumers!)) as [string, string, number][])
          .map(([name, lastSeenAt, held]) => ({ name, inFlight: held, lastSeenAt: new Date(Number(lastSeenAt)) }))
          .sort((a, b) => compareNames(a.name, b.name)),
        settledLastMinute: Number(settled),
      };
      if (oldest !== null && oldest !== undefined) state.oldestUnsettledAt = new Date(Number(oldest));
      return state;
    },

    async pending(groupId) {
      const [[count]] = (await read('counting the entries of a group', `SELECT count(*) FROM ${s}.group_entries WHERE group_id = $1`, [
        groupId,
      ])) as [[string]];
      return Number(count);
    },

    async parked(groupId, after, limit): Promise<ParkedEvent[]> {
      // A page, less the parked events whose event is gone from the log: those are deleted on the way,
      // and the page read again so that it stays full while there are more.
      for (;;) {
        const rows = await query(
          'reading parked events',
          `WITH page AS (
             SELECT p.position AS parked_position, p.reason, p.attempts, p.parked_at, ev.position IS NULL AS gone, ${eventColumnsOf('ev')}
             FROM ${s}.group_parked p LEFT JOIN ${s}.events ev ON ev.position = p.position
             WHERE p.group_id = $1 AND p.position > $2::bigint
             ORDER BY p.position LIMIT $3
           ), gone AS (
             DELETE FROM ${s}.group_parked p USING page
             WHERE page.gone AND p.group_id = $1 AND p.position = page.parked_position
           )
           SELECT * FROM page ORDER BY parked_position`,
          [groupId, after.toString(), limit],
        );
        if (rows.some((row) => row[4] === 't')) continue;
        return rows.map((row) => ({
          event: toRecorded(row.slice(5) as EventRow),
          reason: row[1]!,
          attempts: Number(row[2]),
          parkedAt: new Date(Number(row[3])),
        }));
      }
    },

    async replayParked(groupId, positions, limit) {
      const [row] = await retryConflicts(() =>
        query(
          'replaying parked events',
          `WITH g AS (
             SELECT id FROM ${s}.groups WHERE id = $1 FOR NO KEY UPDATE
           ), chosen AS (
             SELECT p.position FROM ${s}.group_parked p, g
             WHERE p.group_id = g.id AND ($2::bigint[] IS NULL OR p.position = ANY ($2::bigint[]))
             ORDER BY p.position LIMIT $3
           ), moved AS (
             DELETE FROM ${s}.group_parked p USING chosen c WHERE p.group_id = $1 AND p.position = c.position
             RETURNING p.position, p.stream
           ), added AS (
             INSERT INTO ${s}.group_entries (group_id, position, stream, replay)
             SELECT $1, m.position, m.stream, true FROM moved m ORDER BY m.position
             RETURNING 1
           )
           SELECT count(*) FROM added`,
          [groupId, selection(positions), limit],
        ),
      );
      return Number(row![0]);
    },

    async deleteParked(groupId, positions, limit) {
      const [row] = await query(
        'deleting parked events',
        `WITH chosen AS (
           SELECT p.position FROM ${s}.group_parked p
           WHERE p.group_id = $1 AND ($2::bigint[] IS NULL OR p.position = ANY ($2::bigint[]))
           ORDER BY p.position LIMIT $3
         ), deleted AS (
           DELETE FROM ${s}.group_parked p USING chosen c WHERE p.group_id = $1 AND p.position = c.position RETURNING 1
         )
         SELECT count(*) FROM deleted`,
        [groupId, selection(positions), limit],
      );
      return Number(row![0]);
    },
  };
};
