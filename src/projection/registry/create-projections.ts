/**
 * The embedded registry core over an engine: what `info` and `list` show is derived here from the stored
 * reports (the freshest report of a name speaks for it; `stale` by the engine's clock), and requests are
 * checked against what the runners reported (a name never reported is unknown; the serving version
 * cannot be dropped). The engine enforces what must be atomic (engine.ts).
 */
import { randomUUID } from 'node:crypto';
import { ConflictError } from '../../store/errors.js';
import type { ProjectionsEngine, StoredReport } from './engine.js';
import type { ProjectionInfo, ProjectionRequest, ProjectionRequestKind } from './model.js';
import { freshest, infoOf, neverReported, shownSettledRequests, unknownRequest } from './rules.js';
import type { ProjectionsCore } from './wrap-projections.js';

export const createProjections = (engine: ProjectionsEngine): ProjectionsCore => {
  const describe = async (stored: StoredReport, now: Date): Promise<ProjectionInfo> =>
    infoOf(stored, now, await engine.requests(stored.report.name, shownSettledRequests));

  const serving = async (name: string): Promise<StoredReport> => {
    const found = freshest((await engine.reports(name)).reports);
    if (found === undefined) throw neverReported(name);
    return found;
  };

  const ask = async (name: string, kind: ProjectionRequestKind, options: ProjectionRequest['options']) => {
    await serving(name);
    const requestId = randomUUID();
    await engine.add({ requestId, name, kind, options });
    return { requestId };
  };

  return {
    async list() {
      const { now, reports } = await engine.reports(undefined);
      const byName = new Map<string, StoredReport[]>();
      for (const stored of reports) byName.set(stored.report.name, [...(byName.get(stored.report.name) ?? []), stored]);
      const names = [...byName.keys()].sort();
      return Promise.all(names.map((name) => describe(freshest(byName.get(name)!)!, now)));
    },
    async info(name) {
      const { now, reports } = await engine.reports(name);
      const found = freshest(reports);
      if (found === undefined) throw neverReported(name);
      return describe(found, now);
    },
    replay: (name, options = {}) => ask(name, 'replay', options),
    pause: (name) => ask(name, 'pause', {}),
    resume: (name) => ask(name, 'resume', {}),
    cancel: (name) => ask(name, 'cancel', {}),
    async drop(name, version) {
      const { report } = await serving(name);
      if (report.activeVersion === version) {
        throw new ConflictError(
          `version ${version} of ${name} serves queries (runner '${report.runnerId}'); switch to another before dropping it`,
        );
      }
      return ask(name, 'drop', { version });
    },
    async request(name, requestId) {
      const found = await engine.request(name, requestId);
      if (found === undefined) throw unknownRequest(name, requestId);
      return found;
    },
    report: (report) => engine.report(report),
    claim: (name, runnerId) => engine.claim(name, runnerId),
    settle: (name, requestId, outcome) => engine.settle(name, requestId, outcome),
  };
};
