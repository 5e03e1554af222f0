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

/** The append lock: one per schema, taken by every write that changes revisions or positions. */
const appendLock = (s: string) => `pg_advisory_xact_lock('${s}.events'::regclass::oid::int, 0)`;

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
