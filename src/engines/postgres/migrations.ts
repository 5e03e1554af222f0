/**
 * The PostgreSQL schema, as numbered migrations recorded in `<schema>.migrations`. A migration, once
 * released, never changes: add a new one.
 *
 * Several Annals processes may start at once against one database: each runs the migrations in one
 * transaction that first takes an advisory lock for the schema, so one process migrates and the others
 * wait, then find the work done. DDL is transactional in PostgreSQL, so a failed migration leaves nothing.
 *
 * `events` is the log, its position the primary key so `$all` is a range scan. `streams` holds each
 * stream's last revision (kept through soft deletes so revisions continue), whether it has visible events,
 * its tombstone and its metadata. `log` keeps the last position ever given, so positions are never reused.
 * The write rules live in two small functions, so that an append is one statement and one round trip; the
 * comments in engine.ts say why both take the append lock first.
 *
 * Consumer groups (migrations 3 and 4) keep all their state in `groups`, `group_entries`, `group_parked`,
 * `group_consumers` and `group_settles`, leased and settled by three functions; groups.ts says how they
 * stay correct with many servers at once.
 *
 * Snapshots (migration 4): one row per (stream, schema_version), written by `write_snapshot` under a share
 * lock of the stream's row, and deleted by a trigger when a delete takes the stream's events away.
 *
 * System events (migration 6): `set_metadata` and `delete_stream_logged` make the change and append its
 * `$metadata` / `$deleted` event to `$$<stream>` (`append_system_event`) in one transaction.
 *
 * Identity (migration 7): `store` holds the store's id, given at creation, and its epoch (DESIGN.md
 * section 11) with the head position at which the epoch began.
 */
import type pg from 'pg';
import { InvalidArgumentError, UnavailableError } from '../../store/errors.js';

/** The names a schema gives to SQL: quoted identifiers and the NOTIFY channel. */
export interface SchemaNames {
  schema: string;
  /** The quoted schema, safe to splice into SQL (the name is checked first). */
  s: string;
  channel: string;
}

const schemaPattern = /^[a-z_][a-z0-9_]{0,47}$/;

export const schemaNames = (schema: string): SchemaNames => {
  if (!schemaPattern.test(schema)) {
    throw new InvalidArgumentError(`schema must be 1 to 48 lower-case letters, digits or '_', starting with a letter or '_'`);
  }
  return { schema, s: `"${schema}"`, channel: `${schema}.events` };
};

/**
 * The pinned rule for the entry under `alias`: another entry of its stream comes before it or is leased.
 * (groups.ts says why the first part alone already keeps one delivery per stream.)
 */
const blockedBy = (s: string, alias: string) => `
  SELECT FROM ${s}.group_entries o
  WHERE o.group_id = ${alias}.group_id AND o.stream = ${alias}.stream AND o.entry <> ${alias}.entry
    AND (o.entry < ${alias}.entry OR o.consumer IS NOT NULL)`;

/** The append lock: one per schema, taken by every write that changes revisions or positions. */
export const appendLock = (s: string) => `pg_advisory_xact_lock('${s}.events'::regclass::oid::int, 0)`;

const migrations = ({ s, channel }: SchemaNames): string[] => [
  `
  CREATE TABLE ${s}.events (
    position    bigint      PRIMARY KEY,
    id          uuid        NOT NULL UNIQUE,
    stream      text        NOT NULL,
    revision    bigint      NOT NULL,
    type        text        NOT NULL,
    data        text        NOT NULL,
    metadata    text,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (stream, revision)
  );

  CREATE TABLE ${s}.streams (
    name       text    PRIMARY KEY,
    revision   bigint  NOT NULL DEFAULT -1,
    live       boolean NOT NULL DEFAULT false,
    tombstoned boolean NOT NULL DEFAULT false,
    metadata   text
  );

  CREATE TABLE ${s}.log (
    singleton     boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    last_position bigint  NOT NULL
  );
  INSERT INTO ${s}.log VALUES (true, 0);

  -- rules.ts expectationHolds, for the one case that writes. Revisions compare as text: no cast can fail.
  CREATE FUNCTION ${s}.expectation_holds(expected text, live boolean, revision bigint) RETURNS boolean
  LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE expected
      WHEN 'any' THEN true
      WHEN 'no_stream' THEN NOT live
      WHEN 'stream_exists' THEN live
      ELSE live AND revision::text = expected
    END
  $$;

  -- Appends a group of appends (one per caller) in order. Each is written only when it may be without
  -- question: stream not tombstoned, expectation holding, none of its ids written before. Otherwise it
  -- writes nothing and returns what the engine needs to decide with rules.ts (conflict, or the original
  -- result of a retried append): the stream's state, its first revision and the events holding its ids.
  CREATE FUNCTION ${s}.append_events(
    stream_names text[], expected text[], counts int[],
    event_ids uuid[], event_types text[], event_data text[], event_metadata text[]
  ) RETURNS TABLE (
    written boolean, revision_after bigint, position_after bigint,
    stream_revision bigint, stream_live boolean, stream_tombstoned boolean, first_revision bigint, found_events json
  )
  LANGUAGE plpgsql
  -- Every statement here is a key lookup. Plans are cached per connection, and one cached while the
  -- tables were tiny would otherwise keep scanning them whole once they are large. No JIT for lookups.
  SET enable_seqscan = off SET jit = off
  AS $$
  DECLARE
    stream_name text;
    n int;
    first int := 1;
    rev bigint;
    is_live boolean;
    is_tombstoned boolean;
    head bigint;
    last_written bigint;
  BEGIN
    PERFORM ${appendLock(s)};
    SELECT l.last_position INTO head FROM ${s}.log l WHERE l.singleton;
    last_written := head;
    FOR i IN 1 .. cardinality(stream_names) LOOP
      stream_name := stream_names[i];
      n := counts[i];
      SELECT st.revision, st.live, st.tombstoned INTO rev, is_live, is_tombstoned
        FROM ${s}.streams st WHERE st.name = stream_name FOR UPDATE;
      IF NOT FOUND THEN
        rev := -1; is_live := false; is_tombstoned := false;
      END IF;
      IF is_tombstoned OR NOT ${s}.expectation_holds(expected[i], is_live, rev)
         OR EXISTS (SELECT FROM ${s}.events e WHERE e.id = ANY (event_ids[first : first + n - 1])) THEN
        RETURN QUERY SELECT false, NULL::bigint, NULL::bigint, rev, is_live, is_tombstoned,
          coalesce((SELECT min(e.revision) FROM ${s}.events e WHERE e.stream = stream_name), rev + 1),
          (SELECT json_agg(json_build_object(
              'id', e.id, 'stream', e.stream, 'revision', e.revision, 'position', e.position::text,
              'type', e.type, 'data', e.data, 'metadata', e.metadata))
            FROM ${s}.events e WHERE e.id = ANY (event_ids[first : first + n - 1]));
      ELSE
        INSERT INTO ${s}.events (position, id, stream, revision, type, data, metadata)
          SELECT head + k, event_ids[first + k - 1], stream_name, rev + k,
                 event_types[first + k - 1], event_data[first + k - 1], event_metadata[first + k - 1]
          FROM generate_series(1, n) AS k;
        INSERT INTO ${s}.streams AS st (name, revision, live) VALUES (stream_name, rev + n, true)
          ON CONFLICT (name) DO UPDATE SET revision = excluded.revision, live = true;
        head := head + n;
        RETURN QUERY SELECT true, rev + n, head, NULL::bigint, NULL::boolean, NULL::boolean, NULL::bigint, NULL::json;
      END IF;
      first := first + n;
    END LOOP;
    IF head > last_written THEN
      UPDATE ${s}.log l SET last_position = head WHERE l.singleton;
      PERFORM pg_notify('${channel}', head::text);
    END IF;
  END
  $$;

  -- Soft delete, or tombstone when hard: removes the stream's events, keeps its revision and metadata.
  -- Returns the state it found; deleted is false when the rules forbid it (the engine raises the error).
  CREATE FUNCTION ${s}.delete_stream(stream_name text, expected text, hard boolean)
  RETURNS TABLE (deleted boolean, stream_revision bigint, stream_live boolean, stream_tombstoned boolean)
  LANGUAGE plpgsql SET enable_seqscan = off SET jit = off AS $$
  DECLARE
    rev bigint;
    is_live boolean;
    is_tombstoned boolean;
  BEGIN
    PERFORM ${appendLock(s)};
    SELECT st.revision, st.live, st.tombstoned INTO rev, is_live, is_tombstoned
      FROM ${s}.streams st WHERE st.name = stream_name FOR UPDATE;
    IF NOT FOUND THEN
      rev := -1; is_live := false; is_tombstoned := false;
    END IF;
    IF is_tombstoned OR NOT ${s}.expectation_holds(expected, is_live, rev) THEN
      RETURN QUERY SELECT false, rev, is_live, is_tombstoned;
      RETURN;
    END IF;
    DELETE FROM ${s}.events e WHERE e.stream = stream_name;
    INSERT INTO ${s}.streams AS st (name, revision, live, tombstoned) VALUES (stream_name, rev, false, hard)
      ON CONFLICT (name) DO UPDATE SET live = false, tombstoned = excluded.tombstoned;
    RETURN QUERY SELECT true, rev, is_live, is_tombstoned;
  END
  $$;
  `,
  // The streams that have an ACL, found without reading every stream; stream names in code point order,
  // for listings that sort as on every engine whatever the database's collation.
  `
  CREATE INDEX streams_with_acl ON ${s}.streams (name) WHERE (metadata::jsonb -> 'acl') IS NOT NULL;
  CREATE INDEX streams_by_name ON ${s}.streams (name COLLATE "C");
  `,
  // Consumer groups (DESIGN.md section 7, bus/groups/engine.ts), shared by every Annals server on this
  // schema. `groups.id` comes from a sequence, so a recreated group never meets the delivery ids of the
  // one before. An entry is an unsettled source event read into a group (or queued again by a replay);
  // settling deletes it. `attempt` counts the attempts made (0: never leased); `consumer` and
  // `lease_until` are set while it is leased; `due_at` is when it may be leased again. Times are
  // milliseconds since the epoch on the database's clock (now_ms), the one clock every server shares.
  // Every statement filters by group first, so each index leads with group_id.
  `
  CREATE FUNCTION ${s}.now_ms() RETURNS bigint LANGUAGE sql VOLATILE AS $$
    SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint
  $$;

  -- model.ts retryDelay: the wait before attempt + 1 of an entry whose attempt failed.
  CREATE FUNCTION ${s}.group_retry_delay(settings jsonb, attempt int) RETURNS bigint LANGUAGE sql IMMUTABLE AS $$
    SELECT least((settings ->> 'retryDelayMs')::numeric * power(2::numeric, least(attempt - 1, 30)), 60000)::bigint
  $$;

  CREATE TABLE ${s}.groups (
    id            bigserial PRIMARY KEY,
    name          text      NOT NULL UNIQUE,
    settings      jsonb     NOT NULL,
    last_position bigint    NOT NULL,
    replay        jsonb
  );

  CREATE TABLE ${s}.group_entries (
    entry       bigserial PRIMARY KEY,
    group_id    bigint    NOT NULL REFERENCES ${s}.groups ON DELETE CASCADE,
    position    bigint    NOT NULL,
    stream      text      NOT NULL,
    replay      boolean   NOT NULL,
    attempt     int       NOT NULL DEFAULT 0,
    consumer    text,
    lease_until bigint,
    due_at      bigint    NOT NULL DEFAULT 0,
    CHECK ((consumer IS NULL) = (lease_until IS NULL))
  );
  -- New entries in entry order; retries waiting; leases by expiry; a stream's entries (pinned); live
  -- positions, unique so that no event is ever added twice, and first in line for the checkpoint.
  CREATE INDEX group_entries_new ON ${s}.group_entries (group_id, entry) WHERE attempt = 0;
  CREATE INDEX group_entries_retries ON ${s}.group_entries (group_id, entry) WHERE attempt > 0 AND consumer IS NULL;
  CREATE INDEX group_entries_leased ON ${s}.group_entries (group_id, lease_until) WHERE consumer IS NOT NULL;
  CREATE INDEX group_entries_by_stream ON ${s}.group_entries (group_id, stream, entry);
  CREATE UNIQUE INDEX group_entries_live ON ${s}.group_entries (group_id, position) WHERE NOT replay;

  CREATE TABLE ${s}.group_parked (
    group_id  bigint NOT NULL REFERENCES ${s}.groups ON DELETE CASCADE,
    position  bigint NOT NULL,
    stream    text   NOT NULL,
    reason    text   NOT NULL,
    attempts  int    NOT NULL,
    parked_at bigint NOT NULL,
    PRIMARY KEY (group_id, position)
  );

  CREATE TABLE ${s}.group_consumers (
    group_id     bigint NOT NULL REFERENCES ${s}.groups ON DELETE CASCADE,
    name         text   NOT NULL,
    last_seen_at bigint NOT NULL,
    PRIMARY KEY (group_id, name)
  );

  -- Settles per second of the database clock, for the rate over the last minute; lease prunes the rest.
  -- Counted per connection (backend), so that concurrent settles never wait for each other's commit on
  -- one hot row.
  CREATE TABLE ${s}.group_settles (
    group_id bigint NOT NULL REFERENCES ${s}.groups ON DELETE CASCADE,
    second   bigint NOT NULL,
    backend  int    NOT NULL,
    count    int    NOT NULL,
    PRIMARY KEY (group_id, second, backend)
  );

  CREATE FUNCTION ${s}.group_count_settles(gid bigint, n int, at_ms bigint) RETURNS void LANGUAGE sql AS $$
    INSERT INTO ${s}.group_settles AS r (group_id, second, backend, count) VALUES (gid, at_ms / 1000, pg_backend_pid(), n)
    ON CONFLICT (group_id, second, backend) DO UPDATE SET count = r.count + excluded.count
  $$;

  -- Parks entries (already deleted) in position order, as every parking statement does, so that two
  -- transactions parking the same positions wait for each other in one order. A position parked before
  -- (a replayed event) is parked again with the latest reason.
  CREATE FUNCTION ${s}.group_park(gid bigint, positions bigint[], streams text[], reasons text[], attempts int[], at_ms bigint)
  RETURNS int LANGUAGE plpgsql AS $$
  DECLARE
    n int;
  BEGIN
    INSERT INTO ${s}.group_parked AS p (group_id, position, stream, reason, attempts, parked_at)
      SELECT DISTINCT ON (x.position) gid, x.position, x.stream, x.reason, x.attempts, at_ms
      FROM unnest(positions, streams, reasons, attempts) AS x(position, stream, reason, attempts)
      ORDER BY x.position, x.attempts DESC
      ON CONFLICT (group_id, position) DO UPDATE
        SET stream = excluded.stream, reason = excluded.reason, attempts = excluded.attempts, parked_at = excluded.parked_at;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
  END
  $$;

  -- GroupsEngine.lease (engine.ts); groups.ts says why it is correct with many leasers at once. Entry
  -- rows are taken with SKIP LOCKED, so a lease waits neither for another lease nor for a settle, only
  -- for an earlier lease of the same consumer (its group_consumers row). Returns the leases with their
  -- events, in the order leased; when none, at most one row with only next_due_in_ms. Planned afresh on
  -- each call: the choice between retries and new entries is a variable, and only a plan made with its
  -- value can use the partial index for it.
  CREATE FUNCTION ${s}.group_lease(gid bigint, consumer_name text, max_leases int)
  RETURNS TABLE (
    l_entry bigint, l_attempt int, l_replay boolean, l_next_due_in_ms bigint,
    e_position bigint, e_stream text, e_revision bigint, e_id uuid, e_type text, e_data text, e_metadata text, e_recorded_at float8
  )
  LANGUAGE plpgsql SET jit = off SET plan_cache_mode = force_custom_plan AS $$
  DECLARE
    now_ms bigint;
    st jsonb;
    max_attempts int;
    pinned boolean;
    in_flight int;
    room int;
    leased int := 0;
    settles int := 0;
    n int;
    retries boolean;
    picked bigint[];
    gone bigint[];
    more bigint[];
    more_gone bigint[];
    bound bigint;
    scanned int;
    next_ms bigint;
  BEGIN
    -- KEY SHARE: a delete of the group waits for the lease (or the lease finds no group), and nothing
    -- else does.
    SELECT g.settings INTO st FROM ${s}.groups g WHERE g.id = gid FOR KEY SHARE;
    IF NOT FOUND THEN
      RETURN;
    END IF;
    -- The consumer's row, locked until commit: leases for one consumer take turns, so that each counts
    -- the leases of the one before against maxInFlight.
    INSERT INTO ${s}.group_consumers AS c (group_id, name, last_seen_at) VALUES (gid, consumer_name, ${s}.now_ms())
      ON CONFLICT (group_id, name) DO UPDATE SET last_seen_at = greatest(c.last_seen_at, excluded.last_seen_at);
    now_ms := ${s}.now_ms(); -- read after the wait for that row
    DELETE FROM ${s}.group_consumers c USING (
      SELECT o.name FROM ${s}.group_consumers o
      WHERE o.group_id = gid AND o.last_seen_at <= now_ms - (st ->> 'consumerTimeoutMs')::bigint
      FOR UPDATE SKIP LOCKED
    ) silent WHERE c.group_id = gid AND c.name = silent.name;
    DELETE FROM ${s}.group_settles r USING (
      SELECT o.second, o.backend FROM ${s}.group_settles o
      WHERE o.group_id = gid AND o.second <= now_ms / 1000 - 60 FOR UPDATE SKIP LOCKED
    ) old WHERE r.group_id = gid AND r.second = old.second AND r.backend = old.backend;
    IF (st ->> 'paused')::boolean THEN
      RETURN;
    END IF;
    max_attempts := (st ->> 'maxRetries')::int + 1;
    pinned := st ->> 'strategy' = 'pinned';

    -- Expired leases: park those whose next attempt would exceed maxRetries + 1, release the others.
    SELECT array_agg(x.entry) INTO picked FROM (
      SELECT e.entry FROM ${s}.group_entries e
      WHERE e.group_id = gid AND e.consumer IS NOT NULL AND e.lease_until <= now_ms
      ORDER BY e.entry FOR UPDATE SKIP LOCKED
    ) x;
    IF picked IS NOT NULL THEN
      WITH expired AS (
        DELETE FROM ${s}.group_entries e WHERE e.entry = ANY (picked) AND e.attempt >= max_attempts
        RETURNING e.position, e.stream, e.attempt
      )
      SELECT count(*), ${s}.group_park(gid, array_agg(x.position), array_agg(x.stream),
               array_agg('ack timeout after ' || x.attempt || ' attempts'), array_agg(x.attempt), now_ms)
        INTO n FROM expired x HAVING count(*) > 0;
      settles := settles + coalesce(n, 0);
      UPDATE ${s}.group_entries e
        SET consumer = NULL, lease_until = NULL, due_at = e.lease_until + ${s}.group_retry_delay(st, e.attempt)
        WHERE e.entry = ANY (picked) AND e.attempt < max_attempts;
    END IF;

    SELECT count(*) INTO in_flight FROM ${s}.group_entries e
      WHERE e.group_id = gid AND e.consumer IS NOT NULL AND e.consumer = consumer_name;

    -- Retries first, then new entries, each in entry order. Under pinned an entry qualifies only when no
    -- other entry of its stream comes before it or is leased. Entries whose event is gone from the log
    -- (a deleted stream) are settled here, and their places filled.
    FOREACH retries IN ARRAY ARRAY[true, false] LOOP
      LOOP
        room := least(max_leases, (st ->> 'maxInFlight')::int - in_flight) - leased;
        EXIT WHEN room <= 0;
        -- Under pinned, the entries of a stream with a backlog all wait behind its first one. So that such
        -- a backlog is not read through on every lease, only the first 256 candidates are looked at one by
        -- one; beyond them, only the first entry of each stream, found by a skip scan of the stream index.
        bound := NULL;
        scanned := 0;
        IF pinned THEN
          SELECT max(p.entry), count(*) INTO bound, scanned FROM (
            SELECT e.entry FROM ${s}.group_entries e
            WHERE e.group_id = gid AND e.consumer IS NULL AND e.due_at <= now_ms
              AND CASE WHEN retries THEN e.attempt > 0 ELSE e.attempt = 0 END
            ORDER BY e.entry LIMIT 256
          ) p;
          EXIT WHEN bound IS NULL;
        END IF;
        SELECT array_agg(x.entry ORDER BY x.entry), array_agg(x.entry) FILTER (WHERE NOT x.present)
          INTO picked, gone
          FROM (
            SELECT e.entry, EXISTS (SELECT FROM ${s}.events ev WHERE ev.position = e.position) AS present
            FROM ${s}.group_entries e
            WHERE e.group_id = gid AND e.consumer IS NULL AND e.due_at <= now_ms
              AND CASE WHEN retries THEN e.attempt > 0 ELSE e.attempt = 0 END
              AND (bound IS NULL OR e.entry <= bound)
              AND (NOT pinned OR NOT EXISTS (${blockedBy(s, 'e')}))
            ORDER BY e.entry
            LIMIT room
            FOR UPDATE OF e SKIP LOCKED
          ) x;
        IF scanned = 256 AND coalesce(cardinality(picked), 0) < room THEN
          WITH RECURSIVE heads (stream, entry) AS (
            (SELECT o.stream, o.entry FROM ${s}.group_entries o WHERE o.group_id = gid ORDER BY o.stream, o.entry LIMIT 1)
            UNION ALL
            SELECT n.stream, n.entry FROM heads h CROSS JOIN LATERAL (
              SELECT o.stream, o.entry FROM ${s}.group_entries o
              WHERE o.group_id = gid AND o.stream > h.stream ORDER BY o.stream, o.entry LIMIT 1
            ) n
          )
          SELECT array_agg(x.entry ORDER BY x.entry), array_agg(x.entry) FILTER (WHERE NOT x.present)
            INTO more, more_gone
            FROM (
              SELECT e.entry, EXISTS (SELECT FROM ${s}.events ev WHERE ev.position = e.position) AS present
              FROM heads h JOIN ${s}.group_entries e ON e.entry = h.entry
              WHERE e.group_id = gid AND e.entry > bound AND e.consumer IS NULL AND e.due_at <= now_ms
                AND CASE WHEN retries THEN e.attempt > 0 ELSE e.attempt = 0 END
                AND NOT EXISTS (${blockedBy(s, 'e')})
              ORDER BY e.entry
              LIMIT room - coalesce(cardinality(picked), 0)
              FOR UPDATE OF e SKIP LOCKED
            ) x;
          picked := picked || more;
          gone := gone || more_gone;
        END IF;
        EXIT WHEN picked IS NULL;
        IF gone IS NOT NULL THEN
          -- The stream was deleted: every waiting entry of it whose event is gone goes now, not one lease
          -- (under pinned, one entry) at a time. Entries that others hold are left to them.
          WITH doomed AS (
            SELECT e.entry FROM ${s}.group_entries e
            WHERE e.group_id = gid
              AND e.stream IN (SELECT d.stream FROM ${s}.group_entries d WHERE d.entry = ANY (gone))
              AND (e.entry = ANY (gone) OR e.consumer IS NULL)
              AND NOT EXISTS (SELECT FROM ${s}.events ev WHERE ev.position = e.position)
            FOR UPDATE OF e SKIP LOCKED
          )
          DELETE FROM ${s}.group_entries e USING doomed WHERE e.entry = doomed.entry;
          GET DIAGNOSTICS n = ROW_COUNT;
          settles := settles + n;
        END IF;
        RETURN QUERY
          WITH l AS (
            UPDATE ${s}.group_entries e
              SET attempt = e.attempt + 1, consumer = consumer_name, lease_until = now_ms + (st ->> 'ackTimeoutMs')::bigint
              WHERE e.entry = ANY (picked) AND NOT e.entry = ANY (coalesce(gone, '{}'))
              RETURNING e.entry, e.attempt, e.replay, e.position
          )
          SELECT l.entry, l.attempt, l.replay, NULL::bigint,
                 ev.position, ev.stream, ev.revision, ev.id, ev.type, ev.data, ev.metadata,
                 extract(epoch FROM ev.recorded_at)::float8 * 1000
          FROM l JOIN ${s}.events ev ON ev.position = l.position
          ORDER BY l.entry;
        GET DIAGNOSTICS n = ROW_COUNT;
        leased := leased + n;
        EXIT WHEN gone IS NULL;
      END LOOP;
    END LOOP;

    IF settles > 0 THEN
      PERFORM ${s}.group_count_settles(gid, settles, now_ms);
    END IF;
    IF leased = 0 THEN
      SELECT least(
          (SELECT min(e.due_at) FROM ${s}.group_entries e
            WHERE e.group_id = gid AND e.attempt > 0 AND e.consumer IS NULL AND e.due_at > now_ms),
          (SELECT min(e.lease_until) FROM ${s}.group_entries e
            WHERE e.group_id = gid AND e.consumer IS NOT NULL AND e.lease_until > now_ms))
        INTO next_ms;
      IF next_ms IS NOT NULL THEN
        RETURN QUERY SELECT NULL::bigint, NULL::int, NULL::boolean, next_ms - now_ms,
          NULL::bigint, NULL::text, NULL::bigint, NULL::uuid, NULL::text, NULL::text, NULL::text, NULL::float8;
      END IF;
    END IF;
  END
  $$;

  -- GroupsEngine.settle and extend (engine.ts). Both lock the group's row FOR KEY SHARE (so that a
  -- delete of the group waits for them, and they never wait for a lease) and then the given entries in
  -- entry order, so that two of them never deadlock. Rows: (entry, attempt, outcome) for each entry
  -- changed ('done'), then for retry and extend each entry still there ('present'); the engine maps ids.
  CREATE FUNCTION ${s}.group_settle(gid bigint, entries bigint[], attempts int[], action text, reason text)
  RETURNS TABLE (s_entry bigint, s_attempt int, s_outcome text)
  LANGUAGE plpgsql SET jit = off AS $$
  DECLARE
    now_ms bigint;
    st jsonb;
    max_attempts int;
    settles int := 0;
    n int;
  BEGIN
    SELECT g.settings INTO st FROM ${s}.groups g WHERE g.id = gid FOR KEY SHARE;
    IF NOT FOUND THEN
      RETURN;
    END IF;
    PERFORM FROM ${s}.group_entries e WHERE e.group_id = gid AND e.entry = ANY (entries) ORDER BY e.entry FOR UPDATE;
    now_ms := ${s}.now_ms();
    max_attempts := (st ->> 'maxRetries')::int + 1;
    IF action = 'retry' THEN
      -- The current attempt of a leased entry: parked when the next attempt would exceed maxRetries + 1.
      RETURN QUERY
        WITH t AS (SELECT * FROM unnest(entries, attempts) AS t(entry, attempt)),
        d AS (
          DELETE FROM ${s}.group_entries e USING t
          WHERE e.group_id = gid AND e.entry = t.entry AND e.attempt = t.attempt AND e.consumer IS NOT NULL
            AND e.attempt >= max_attempts
          RETURNING e.entry, e.attempt, e.position, e.stream
        ),
        p AS (
          SELECT ${s}.group_park(gid, array_agg(d.position), array_agg(d.stream),
                   array_agg(coalesce(reason, 'failed ' || d.attempt || ' attempts')), array_agg(d.attempt), now_ms)
          FROM d HAVING count(*) > 0
        )
        SELECT d.entry, d.attempt, 'done' FROM d LEFT JOIN p ON true;
      GET DIAGNOSTICS settles = ROW_COUNT;
      RETURN QUERY
        UPDATE ${s}.group_entries e
          SET consumer = NULL, lease_until = NULL, due_at = now_ms + ${s}.group_retry_delay(st, e.attempt)
          FROM unnest(entries, attempts) AS t(entry, attempt)
          WHERE e.group_id = gid AND e.entry = t.entry AND e.attempt = t.attempt AND e.consumer IS NOT NULL
          RETURNING e.entry, e.attempt, 'done';
      RETURN QUERY SELECT e.entry, e.attempt, 'present' FROM ${s}.group_entries e WHERE e.group_id = gid AND e.entry = ANY (entries);
    ELSE
      -- ack, park and skip settle whatever attempt is current.
      RETURN QUERY
        WITH d AS (
          DELETE FROM ${s}.group_entries e WHERE e.group_id = gid AND e.entry = ANY (entries)
          RETURNING e.entry, e.attempt, e.position, e.stream
        ),
        p AS (
          SELECT ${s}.group_park(gid, array_agg(d.position), array_agg(d.stream),
                   array_agg(coalesce(reason, 'parked by a consumer')), array_agg(d.attempt), now_ms)
          FROM d WHERE action = 'park' HAVING count(*) > 0
        )
        SELECT d.entry, d.attempt, 'done' FROM d LEFT JOIN p ON true;
      GET DIAGNOSTICS settles = ROW_COUNT;
    END IF;
    IF settles > 0 THEN
      PERFORM ${s}.group_count_settles(gid, settles, now_ms);
    END IF;
  END
  $$;

  CREATE FUNCTION ${s}.group_extend(gid bigint, entries bigint[], attempts int[], ms bigint)
  RETURNS TABLE (s_entry bigint, s_attempt int, s_outcome text)
  LANGUAGE plpgsql SET jit = off AS $$
  DECLARE
    now_ms bigint;
  BEGIN
    PERFORM FROM ${s}.groups g WHERE g.id = gid FOR KEY SHARE;
    IF NOT FOUND THEN
      RETURN;
    END IF;
    PERFORM FROM ${s}.group_entries e WHERE e.group_id = gid AND e.entry = ANY (entries) ORDER BY e.entry FOR UPDATE;
    now_ms := ${s}.now_ms();
    RETURN QUERY
      UPDATE ${s}.group_entries e SET lease_until = now_ms + ms
        FROM unnest(entries, attempts) AS t(entry, attempt)
        WHERE e.group_id = gid AND e.entry = t.entry AND e.attempt = t.attempt AND e.lease_until > now_ms
        RETURNING e.entry, e.attempt, 'done';
    RETURN QUERY SELECT e.entry, e.attempt, 'present' FROM ${s}.group_entries e WHERE e.group_id = gid AND e.entry = ANY (entries);
  END
  $$;
  `,
  `
  CREATE TABLE ${s}.snapshots (
    stream         text        NOT NULL,
    schema_version int         NOT NULL,
    revision       bigint      NOT NULL,
    state          text        NOT NULL,
    recorded_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (stream, schema_version)
  );

  -- Keeps the snapshot unless the stream does not hold its revision (the engine then raises the error
  -- that snapshots/rules.ts names) or a higher one is kept. The share lock waits for a delete under way and
  -- holds off the next, so a snapshot never outlives the events it stands for.
  CREATE FUNCTION ${s}.write_snapshot(stream_name text, version int, rev bigint, snapshot_state text)
  RETURNS TABLE (written boolean, stream_tombstoned boolean, stream_live boolean, first_revision bigint, last_revision bigint)
  LANGUAGE plpgsql AS $$
  DECLARE
    is_tombstoned boolean;
    is_live boolean;
    first_rev bigint;
    last_rev bigint;
  BEGIN
    SELECT st.tombstoned, st.live, st.revision INTO is_tombstoned, is_live, last_rev
      FROM ${s}.streams st WHERE st.name = stream_name FOR SHARE;
    IF NOT FOUND THEN
      is_tombstoned := false; is_live := false; last_rev := -1;
    END IF;
    SELECT min(e.revision) INTO first_rev FROM ${s}.events e WHERE e.stream = stream_name;
    first_rev := coalesce(first_rev, last_rev + 1);
    IF is_tombstoned OR NOT is_live OR rev < first_rev OR rev > last_rev THEN
      RETURN QUERY SELECT false, is_tombstoned, is_live, first_rev, last_rev;
      RETURN;
    END IF;
    INSERT INTO ${s}.snapshots AS sn (stream, schema_version, revision, state) VALUES (stream_name, version, rev, snapshot_state)
      ON CONFLICT (stream, schema_version) DO UPDATE SET revision = excluded.revision, state = excluded.state, recorded_at = now()
      WHERE excluded.revision >= sn.revision;
    RETURN QUERY SELECT FOUND, is_tombstoned, is_live, first_rev, last_rev;
  END
  $$;

  CREATE FUNCTION ${s}.forget_snapshots() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    DELETE FROM ${s}.snapshots WHERE stream = NEW.name;
    RETURN NULL;
  END
  $$;
  CREATE TRIGGER stream_deleted AFTER UPDATE OF live ON ${s}.streams
    FOR EACH ROW WHEN (OLD.live AND NOT NEW.live) EXECUTE FUNCTION ${s}.forget_snapshots();
  `,
  // The projection registry (projection/registry/engine.ts), shared by every server on this schema: each
  // runner's last report, and the requests written to runners. Times are the database's clock. At most
  // one replay of a projection is open (pending or running) at a time, which the partial unique index
  // enforces however many servers write requests.
  `
  CREATE TABLE ${s}.projection_reports (
    name         text        NOT NULL,
    runner_id    text        NOT NULL,
    report       jsonb       NOT NULL,
    heartbeat_at timestamptz NOT NULL,
    PRIMARY KEY (name, runner_id)
  );

  CREATE TABLE ${s}.projection_requests (
    seq        bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    request_id uuid        NOT NULL UNIQUE,
    name       text        NOT NULL,
    kind       text        NOT NULL,
    options    jsonb       NOT NULL,
    state      text        NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    claimed_by text,
    error      text,
    progress   jsonb
  );
  CREATE UNIQUE INDEX projection_requests_open_replay ON ${s}.projection_requests (name)
    WHERE kind = 'replay' AND state IN ('pending', 'running');
  CREATE INDEX projection_requests_by_name ON ${s}.projection_requests (name, seq);
  `,
  // System events (DESIGN.md section 11): a metadata change and a delete append `$metadata` / `$deleted`
  // to `$$<stream>` in the same transaction, under the append lock so positions stay in commit order.
  // Bodies are quoted with $fn$ because `$$` is part of the names they build.
  `
  CREATE FUNCTION ${s}.append_system_event(sys_stream text, event_id uuid, event_type text, event_data text) RETURNS bigint
  LANGUAGE plpgsql SET enable_seqscan = off SET jit = off AS $fn$
  DECLARE
    rev bigint;
    head bigint;
  BEGIN
    PERFORM ${appendLock(s)};
    SELECT st.revision INTO rev FROM ${s}.streams st WHERE st.name = sys_stream FOR UPDATE;
    IF NOT FOUND THEN
      rev := -1;
    END IF;
    SELECT l.last_position + 1 INTO head FROM ${s}.log l WHERE l.singleton;
    INSERT INTO ${s}.events (position, id, stream, revision, type, data, metadata)
      VALUES (head, event_id, sys_stream, rev + 1, event_type, event_data, NULL);
    INSERT INTO ${s}.streams AS st (name, revision, live) VALUES (sys_stream, rev + 1, true)
      ON CONFLICT (name) DO UPDATE SET revision = excluded.revision, live = true;
    UPDATE ${s}.log l SET last_position = head WHERE l.singleton;
    PERFORM pg_notify('${channel}', head::text);
    RETURN head;
  END
  $fn$;

  -- Writes metadata when the stream is not tombstoned and \`expected\` holds for \`$$<stream>\`; returns
  -- what it found, written false when it wrote nothing (the engine raises the error).
  CREATE FUNCTION ${s}.set_metadata(stream_name text, new_metadata text, expected text, event_id uuid)
  RETURNS TABLE (written boolean, stream_tombstoned boolean, sys_revision bigint, sys_live boolean)
  LANGUAGE plpgsql SET enable_seqscan = off SET jit = off AS $fn$
  DECLARE
    is_tombstoned boolean;
    rev bigint;
    is_live boolean;
  BEGIN
    PERFORM ${appendLock(s)};
    SELECT st.tombstoned INTO is_tombstoned FROM ${s}.streams st WHERE st.name = stream_name FOR UPDATE;
    IF NOT FOUND THEN
      is_tombstoned := false;
    END IF;
    SELECT st.revision, st.live INTO rev, is_live FROM ${s}.streams st WHERE st.name = '$$' || stream_name;
    IF NOT FOUND THEN
      rev := -1; is_live := false;
    END IF;
    IF is_tombstoned OR NOT ${s}.expectation_holds(expected, is_live, rev) THEN
      RETURN QUERY SELECT false, is_tombstoned, rev, is_live;
      RETURN;
    END IF;
    INSERT INTO ${s}.streams AS st (name, metadata) VALUES (stream_name, new_metadata)
      ON CONFLICT (name) DO UPDATE SET metadata = excluded.metadata;
    PERFORM ${s}.append_system_event('$$' || stream_name, event_id, '$metadata', new_metadata);
    RETURN QUERY SELECT true, false, rev, is_live;
  END
  $fn$;

  -- delete_stream, and the \`$deleted\` event of it in \`$$<stream>\`.
  CREATE FUNCTION ${s}.delete_stream_logged(stream_name text, expected text, hard boolean, event_id uuid)
  RETURNS TABLE (deleted boolean, stream_revision bigint, stream_live boolean, stream_tombstoned boolean)
  LANGUAGE plpgsql SET enable_seqscan = off SET jit = off AS $fn$
  DECLARE
    outcome record;
  BEGIN
    SELECT * INTO outcome FROM ${s}.delete_stream(stream_name, expected, hard) d;
    IF outcome.deleted THEN
      PERFORM ${s}.append_system_event('$$' || stream_name, event_id, '$deleted',
        json_build_object('hard', hard, 'lastRevision', outcome.stream_revision)::text);
    END IF;
    RETURN QUERY SELECT outcome.deleted, outcome.stream_revision, outcome.stream_live, outcome.stream_tombstoned;
  END
  $fn$;
  `,
  `
  CREATE TABLE ${s}.store (
    singleton   boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    store_id    text    NOT NULL DEFAULT gen_random_uuid()::text,
    epoch       int     NOT NULL DEFAULT 1,
    epoch_start bigint  NOT NULL DEFAULT 0
  );
  INSERT INTO ${s}.store DEFAULT VALUES;
  `,
];

/** Brings the schema up to date; safe to run from several processes at once. */
export const migrate = async (pool: pg.Pool, names: SchemaNames): Promise<void> => {
  const all = migrations(names);
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    // Keyed by the schema name, since the schema (and so any table to key on) may not exist yet.
    await client.query(`SELECT pg_advisory_xact_lock(1095650881, hashtext($1))`, [names.schema]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${names.s}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${names.s}.migrations (version int PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const { rows } = await client.query<{ version: number | null }>(`SELECT max(version) AS version FROM ${names.s}.migrations`);
    const current = rows[0]?.version ?? 0;
    if (current > all.length) {
      throw new UnavailableError(`schema ${names.schema} is at version ${current}, newer than this Annals knows (${all.length})`);
    }
    for (let version = current + 1; version <= all.length; version++) {
      await client.query(all[version - 1]!);
      await client.query(`INSERT INTO ${names.s}.migrations (version) VALUES ($1)`, [version]);
    }
    await client.query('COMMIT');
    client.release();
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    client.release(true);
    throw error;
  }
};
