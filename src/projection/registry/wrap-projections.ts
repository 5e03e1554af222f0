/**
 * The one wrapper that turns a registry core into `store.projections`, checking every argument first; the
 * embedded store (over an engine, create-projections.ts) and the client (over HTTP) each bring a core.
 */
import type { Projections } from './model.js';
import {
  checkOutcome,
  checkProjectionName,
  checkProjectionVersion,
  checkReplayOptions,
  checkRequestId,
  checkRunnerId,
  checkRunnerReport,
} from './validate.js';

/** What `store.projections` does once its arguments are checked: derived from an engine, or HTTP calls. */
export type ProjectionsCore = Projections;

export const wrapProjections = (core: ProjectionsCore, open: () => void): Projections => {
  const checked =
    <Args extends unknown[], T>(call: (...args: Args) => Promise<T>) =>
    async (...args: Args): Promise<T> => {
      open();
      return call(...args);
    };
  return {
    list: checked(() => core.list()),
    info: checked((name) => core.info(checkProjectionName(name))),
    replay: checked((name, options) => core.replay(checkProjectionName(name), checkReplayOptions(options))),
    pause: checked((name) => core.pause(checkProjectionName(name))),
    resume: checked((name) => core.resume(checkProjectionName(name))),
    cancel: checked((name) => core.cancel(checkProjectionName(name))),
    drop: checked((name, version) => core.drop(checkProjectionName(name), checkProjectionVersion(version))),
    request: checked((name, requestId) => core.request(checkProjectionName(name), checkRequestId(requestId))),
    report: checked((report) => core.report(checkRunnerReport(report))),
    claim: checked((name, runnerId) => core.claim(checkProjectionName(name), checkRunnerId(runnerId))),
    settle: checked((name, requestId, outcome) => core.settle(checkProjectionName(name), checkRequestId(requestId), checkOutcome(outcome))),
  };
};
