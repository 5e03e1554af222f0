/**
 * The projection registry in SQLite: every write goes through the write queue, so a check and the write
 * it guards (one open replay, a claim, a settle by the claimer) run in one transaction; the partial
 * unique index on open replays stands behind the check.
 */
import type Database from 'better-sqlite3';
import type { ProjectionsEngine } from '../../projection/registry/engine.js';
import {
  requestFromRow,
  requestOptionsToJson,
  reportFromJson,
  reportToJson,
  type RequestRow,
  type RunnerReportJson,
} from '../../projection/registry/json.js';
import { checkSettle, openReplayConflict, settled, staleAfterHeartbeats } from '../../projection/registry/rules.js';
import type { WriteQueue } from './write-queue.js';

const requestColumns = `request_id AS requestId, name, kind, options, state, created_at AS createdAt, updated_at AS updatedAt,
  claimed_by AS claimedBy, error, progress`;

type ReportRow = { report: string; heartbeatAt: number };

export const createSqliteProjections = (db: Database.Database, queue: WriteQueue): ProjectionsEngine => {
  const sql = {
    allReports: db.prepare<[], ReportRow>('SELECT report, heartbeat_at AS heartbeatAt FROM projection_reports'),
    reportsOf: db.prepare<[string], ReportRow>('SELECT report, heartbeat_at AS heartbeatAt FROM projection_reports WHERE name = ?'),
    putReport: db.prepare<[string, string, string, number]>(
      `INSERT INTO projection_reports (name, runner_id, report, heartbeat_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (name, runner_id) DO UPDATE SET report = excluded.report, heartbeat_at = excluded.heartbeat_at`,
    ),
    forgetStale: db.prepare<[string, number, number]>(
      `DELETE FROM projection_reports WHERE name = ? AND heartbeat_at < ? - ? * 1000 * json_extract(report, '$.heartbeatSeconds')`,
    ),
    openRequests: db.prepare<[string], RequestRow>(
      `SELECT ${requestColumns} FROM projection_requests WHERE name = ? AND state IN ('pending', 'running') ORDER BY seq DESC`,
    ),
    settledRequests: db.prepare<[string, number], RequestRow>(
      `SELECT ${requestColumns} FROM projection_requests WHERE name = ? AND state NOT IN ('pending', 'running')
       ORDER BY updated_at DESC, seq DESC LIMIT ?`,
    ),
    request: db.prepare<[string, string], RequestRow>(
      `SELECT ${requestColumns} FROM projection_requests WHERE name = ? AND request_id = ?`,
    ),
    openReplay: db.prepare<[string], RequestRow>(
      `SELECT ${requestColumns} FROM projection_requests WHERE name = ? AND kind = 'replay' AND state IN ('pending', 'running')`,
    ),
    insert: db.prepare<[string, string, string, string, number, number]>(
      `INSERT INTO projection_requests (request_id, name, kind, options, state, created_at, updated_at) VALUES (?, ?, ?, ?, 'pending', ?, ?)`,
    ),
    oldestPending: db.prepare<[string], RequestRow>(
      `SELECT ${requestColumns} FROM projection_requests WHERE name = ? AND state = 'pending' ORDER BY seq LIMIT 1`,
    ),
    claim: db.prepare<[string, number, string]>(
      `UPDATE projection_requests SET state = 'running', claimed_by = ?, updated_at = ? WHERE request_id = ?`,
    ),
    settle: db.prepare<[string, string | null, string | null, number, string]>(
      'UPDATE projection_requests SET state = ?, error = ?, progress = ?, updated_at = ? WHERE request_id = ?',
    ),
  };

  return {
    async reports(name) {
      const rows = name === undefined ? sql.allReports.all() : sql.reportsOf.all(name);
      return {
        now: new Date(),
        reports: rows.map((row) => ({
          report: reportFromJson(JSON.parse(row.report) as RunnerReportJson),
          heartbeatAt: new Date(row.heartbeatAt),
        })),
      };
    },
    report(report) {
      return queue.write(() => {
        const now = Date.now();
        sql.forgetStale.run(report.name, now, staleAfterHeartbeats);
        sql.putReport.run(report.name, report.runnerId, JSON.stringify(reportToJson(report)), now);
      });
    },
    async requests(name, settledLimit) {
      return [...sql.openRequests.all(name), ...sql.settledRequests.all(name, settledLimit)].map(requestFromRow);
    },
    async request(name, requestId) {
      const row = sql.request.get(name, requestId);
      return row === undefined ? undefined : requestFromRow(row);
    },
    add({ requestId, name, kind, options }) {
      return queue.write(() => {
        if (kind === 'replay') {
          const open = sql.openReplay.get(name);
          if (open !== undefined) throw openReplayConflict(name, open);
        }
        const now = Date.now();
        sql.insert.run(requestId, name, kind, JSON.stringify(requestOptionsToJson(kind, options)), now, now);
      });
    },
    claim(name, runnerId) {
      return queue.write(() => {
        const row = sql.oldestPending.get(name);
        if (row === undefined) return undefined;
        const now = Date.now();
        sql.claim.run(runnerId, now, row.requestId);
        return requestFromRow({ ...row, state: 'running', claimedBy: runnerId, updatedAt: now });
      });
    },
    settle(name, requestId, outcome) {
      return queue.write(() => {
        const row = sql.request.get(name, requestId);
        const request = row === undefined ? undefined : requestFromRow(row);
        checkSettle(name, requestId, request, outcome);
        const next = settled(request!, outcome, new Date());
        sql.settle.run(
          next.state,
          next.error,
          next.progress === null ? null : JSON.stringify(next.progress),
          next.updatedAt.getTime(),
          requestId,
        );
      });
    },
  };
};
