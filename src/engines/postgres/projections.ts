/**
 * The projection registry on PostgreSQL (tables in migration 5), shared by every server on the schema.
 * Each call is one statement: an open replay is refused by the partial unique index (ON CONFLICT), a claim
 * takes the oldest pending request with FOR UPDATE SKIP LOCKED (two runners never get the same one), and a
 * settle updates only a running request of its claimer; when a statement changes nothing, the row is read
 * to say why (rules.ts).
 */
import type { ProjectionsEngine } from '../../projection/registry/engine.js';
import {
  requestFromRow,
  requestOptionsToJson,
  reportFromJson,
  reportToJson,
  type RunnerReportJson,
} from '../../projection/registry/json.js';
import type { ProjectionRequest } from '../../projection/registry/model.js';
import { checkSettle, openReplayConflict, staleAfterHeartbeats } from '../../projection/registry/rules.js';
import { ConflictError } from '../../store/errors.js';

type Run = (doing: string, text: string, values?: unknown[]) => Promise<(string | null)[][]>;

const ms = (column: string) => `extract(epoch FROM ${column})::float8 * 1000`;
const requestColumns = `request_id, name, kind, options::text, state, ${ms('created_at')}, ${ms('updated_at')}, claimed_by, error, progress::text`;

const requestOf = (row: (string | null)[]): ProjectionRequest =>
  requestFromRow({
    requestId: row[0]!,
    name: row[1]!,
    kind: row[2] as ProjectionRequest['kind'],
    options: row[3]!,
    state: row[4] as ProjectionRequest['state'],
    createdAt: Number(row[5]),
    updatedAt: Number(row[6]),
    claimedBy: row[7] ?? null,
    error: row[8] ?? null,
    progress: row[9] ?? null,
  });

export const createPostgresProjections = ({ s, query, read }: { s: string; query: Run; read: Run }): ProjectionsEngine => {
  const table = `${s}.projection_requests`;
  const request = async (name: string, requestId: string) => {
    const [row] = await read('reading a projection request', `SELECT ${requestColumns} FROM ${table} WHERE name = $1 AND request_id = $2`, [
      name,
      requestId,
    ]);
    return row === undefined ? undefined : requestOf(row);
  };

  return {
    async reports(name) {
      // One row even when nothing was reported, for the clock.
      const rows = await read(
        'reading projection reports',
        `SELECT ${ms('clock_timestamp()')}, r.report::text, ${ms('r.heartbeat_at')}
         FROM (SELECT 1) AS one LEFT JOIN ${s}.projection_reports r ON $1::text IS NULL OR r.name = $1`,
        [name ?? null],
      );
      return {
        now: new Date(Number(rows[0]![0])),
        reports: rows
          .filter((row) => row[1] !== null)
          .map((row) => ({ report: reportFromJson(JSON.parse(row[1]!) as RunnerReportJson), heartbeatAt: new Date(Number(row[2])) })),
      };
    },
    async report(report) {
      await query(
        'keeping a projection report',
        `WITH forgotten AS (
           DELETE FROM ${s}.projection_reports
           WHERE name = $1 AND runner_id <> $2
             AND heartbeat_at < clock_timestamp() - make_interval(secs => $4 * (report->>'heartbeatSeconds')::float8)
         )
         INSERT INTO ${s}.projection_reports (name, runner_id, report, heartbeat_at) VALUES ($1, $2, $3::jsonb, clock_timestamp())
         ON CONFLICT (name, runner_id) DO UPDATE SET report = excluded.report, heartbeat_at = excluded.heartbeat_at`,
        [report.name, report.runnerId, JSON.stringify(reportToJson(report)), staleAfterHeartbeats],
      );
    },
    async requests(name, settledLimit) {
      const rows = await read(
        'reading projection requests',
        `(SELECT ${requestColumns} FROM ${table} WHERE name = $1 AND state IN ('pending', 'running') ORDER BY seq DESC)
         UNION ALL
         (SELECT ${requestColumns} FROM ${table} WHERE name = $1 AND state NOT IN ('pending', 'running') ORDER BY updated_at DESC, seq DESC LIMIT $2)`,
        [name, settledLimit],
      );
      return rows.map(requestOf);
    },
    request,
    async add({ requestId, name, kind, options }) {
      const inserted = await query(
        'writing a projection request',
        `INSERT INTO ${table} (request_id, name, kind, options, state, created_at, updated_at)
         VALUES ($1, $2, $3, $4::jsonb, 'pending', clock_timestamp(), clock_timestamp())
         ON CONFLICT (name) WHERE kind = 'replay' AND state IN ('pending', 'running') DO NOTHING
         RETURNING request_id`,
        [requestId, name, kind, JSON.stringify(requestOptionsToJson(kind, options))],
      );
      if (inserted.length > 0) return;
      const [open] = await read(
        'reading the open replay',
        `SELECT request_id, state FROM ${table} WHERE name = $1 AND kind = 'replay' AND state IN ('pending', 'running')`,
        [name],
      );
      // The open replay may have settled since the insert met it.
      if (open === undefined) throw new ConflictError(`a replay of ${name} was pending or running a moment ago; ask again`);
      throw openReplayConflict(name, { requestId: open[0]!, state: open[1] as ProjectionRequest['state'] });
    },
    async claim(name, runnerId) {
      const [row] = await query(
        'claiming a projection request',
        `UPDATE ${table} SET state = 'running', claimed_by = $2, updated_at = clock_timestamp()
         WHERE state = 'pending' AND seq = (
           SELECT seq FROM ${table} WHERE name = $1 AND state = 'pending' ORDER BY seq LIMIT 1 FOR UPDATE SKIP LOCKED
         )
         RETURNING ${requestColumns}`,
        [name, runnerId],
      );
      return row === undefined ? undefined : requestOf(row);
    },
    async settle(name, requestId, outcome) {
      const changed = await query(
        'settling a projection request',
        `UPDATE ${table} SET state = $3,
           error = CASE WHEN $4::text IS NOT NULL THEN $4::text WHEN $3 = 'running' THEN error END,
           progress = coalesce($5::jsonb, progress),
           updated_at = clock_timestamp()
         WHERE name = $1 AND request_id = $2 AND state = 'running' AND ($6::text IS NULL OR claimed_by = $6::text)
         RETURNING 1`,
        [
          name,
          requestId,
          outcome.state,
          outcome.error ?? null,
          outcome.progress === undefined ? null : JSON.stringify(outcome.progress),
          outcome.runnerId ?? null,
        ],
      );
      if (changed.length > 0) return;
      checkSettle(name, requestId, await request(name, requestId), outcome);
      throw new ConflictError(`request '${requestId}' of ${name} changed while it was settled; read it and try again`);
    },
  };
};
