/** The projection registry in memory: reports by (name, runnerId), requests in the order they were written. */
import type { ProjectionsEngine, StoredReport } from '../../projection/registry/engine.js';
import type { ProjectionRequest } from '../../projection/registry/model.js';
import { checkSettle, isOpen, isStale, openReplayConflict, settled } from '../../projection/registry/rules.js';

const newestFirst = (a: ProjectionRequest, b: ProjectionRequest) => b.updatedAt.getTime() - a.updatedAt.getTime();

export const createMemoryProjections = (): ProjectionsEngine => {
  const reports = new Map<string, Map<string, StoredReport>>();
  /** Oldest first; copies go out, so a caller never changes what is kept. */
  const requests: ProjectionRequest[] = [];
  const find = (name: string, requestId: string) => requests.find((request) => request.name === name && request.requestId === requestId);

  return {
    async reports(name) {
      const kept = name === undefined ? [...reports.values()] : [reports.get(name) ?? new Map<string, StoredReport>()];
      return { now: new Date(), reports: structuredClone(kept.flatMap((byRunner) => [...byRunner.values()])) };
    },
    async report(report) {
      const byRunner = reports.get(report.name) ?? new Map<string, StoredReport>();
      reports.set(report.name, byRunner);
      const now = new Date();
      for (const [runnerId, stored] of byRunner) if (isStale(stored, now)) byRunner.delete(runnerId);
      byRunner.set(report.runnerId, { report: structuredClone(report), heartbeatAt: now });
    },
    async requests(name, settledLimit) {
      const own = requests.filter((request) => request.name === name);
      const open = own.filter(isOpen).reverse();
      const done = own
        .filter((request) => !isOpen(request))
        .sort(newestFirst)
        .slice(0, settledLimit);
      return structuredClone([...open, ...done]);
    },
    async request(name, requestId) {
      return structuredClone(find(name, requestId));
    },
    async add({ requestId, name, kind, options }) {
      if (kind === 'replay') {
        const open = requests.find((request) => request.name === name && request.kind === 'replay' && isOpen(request));
        if (open !== undefined) throw openReplayConflict(name, open);
      }
      const now = new Date();
      requests.push({
        requestId,
        name,
        kind,
        options: structuredClone(options),
        state: 'pending',
        createdAt: now,
        updatedAt: now,
        claimedBy: null,
        error: null,
        progress: null,
      });
    },
    async claim(name, runnerId) {
      const index = requests.findIndex((request) => request.name === name && request.state === 'pending');
      if (index < 0) return undefined;
      const claimed: ProjectionRequest = { ...requests[index]!, state: 'running', claimedBy: runnerId, updatedAt: new Date() };
      requests[index] = claimed;
      return structuredClone(claimed);
    },
    async settle(name, requestId, outcome) {
      const request = find(name, requestId);
      checkSettle(name, requestId, request, outcome);
      requests[requests.indexOf(request!)] = settled(request!, outcome, new Date());
    },
  };
};
