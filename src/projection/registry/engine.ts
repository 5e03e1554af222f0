/**
 * What an engine implements to keep the projection registry, with its arguments already checked
 * (validate.ts). The engine keeps reports and requests and enforces the rules that need atomicity (one
 * open replay per projection, claims, settles by the claimer); create-projections.ts derives the rest.
 */
import type { ProjectionRequest, ProjectionRequestKind, RequestOutcome, RunnerReport } from './model.js';

/** A runner's last report, stamped by the engine's clock. */
export interface StoredReport {
  report: RunnerReport;
  heartbeatAt: Date;
}

/** A request as written: the engine stamps it, and it starts `pending`. */
interface NewRequest {
  requestId: string;
  name: string;
  kind: ProjectionRequestKind;
  options: ProjectionRequest['options'];
}

export interface ProjectionsEngine {
  /** The last report of every runner of `name` (of every projection when undefined), and the engine's clock now. */
  reports(name: string | undefined): Promise<{ now: Date; reports: StoredReport[] }>;
  /**
   * Keeps the report as the last of its (name, runnerId), stamped now, and forgets the stale reports of
   * other runners of the name: they can never be the freshest again, and runners that restart under new
   * ids would otherwise pile up.
   */
  report(report: RunnerReport): Promise<void>;
  /** The open requests of `name` (pending, running), newest first, then the last `settledLimit` settled, newest first. */
  requests(name: string, settledLimit: number): Promise<ProjectionRequest[]>;
  request(name: string, requestId: string): Promise<ProjectionRequest | undefined>;
  /** Writes the request `pending`; a `replay` while another is open is a conflict (rules.ts `openReplayConflict`), atomically. */
  add(request: NewRequest): Promise<void>;
  /** The oldest pending request of `name`, marked `running` by `runnerId` atomically; undefined when none. */
  claim(name: string, runnerId: string): Promise<ProjectionRequest | undefined>;
  /** Applies the outcome after `checkSettle` (rules.ts), atomically with it. */
  settle(name: string, requestId: string, outcome: RequestOutcome): Promise<void>;
}
