/** The projection registry of a remote server: the `ProjectionsCore` that `wrapProjections` turns into `store.projections`. */
import type { ProjectionsCore } from '../projection/registry/wrap-projections.js';
import {
  projectionInfoFromJson,
  replayOptionsToJson,
  reportToJson,
  requestFromJson,
  type ProjectionInfoJson,
  type ProjectionRequestJson,
} from '../protocol/wire.js';
import type { Transport } from './transport.js';

const projectionPath = (name: string) => `/projections/${encodeURIComponent(name)}`;

export const remoteProjections = (transport: Transport): ProjectionsCore => {
  const ask = (name: string, kind: string, body = '{}') =>
    transport.call<{ requestId: string }>({ method: 'POST', path: `${projectionPath(name)}/${kind}`, body });
  return {
    async list() {
      return (await transport.call<{ projections: ProjectionInfoJson[] }>({ method: 'GET', path: '/projections' })).projections.map(
        projectionInfoFromJson,
      );
    },
    info: async (name) => projectionInfoFromJson(await transport.call<ProjectionInfoJson>({ method: 'GET', path: projectionPath(name) })),
    replay: (name, options = {}) => ask(name, 'replay', JSON.stringify(replayOptionsToJson(options))),
    pause: (name) => ask(name, 'pause'),
    resume: (name) => ask(name, 'resume'),
    cancel: (name) => ask(name, 'cancel'),
    drop: (name, version) => ask(name, 'drop', JSON.stringify({ version })),
    request: async (name, requestId) =>
      requestFromJson(
        await transport.call<ProjectionRequestJson>({
          method: 'GET',
          path: `${projectionPath(name)}/requests/${encodeURIComponent(requestId)}`,
        }),
      ),
    async report(report) {
      await transport.call({
        method: 'PUT',
        path: `${projectionPath(report.name)}/runners/${encodeURIComponent(report.runnerId)}`,
        body: JSON.stringify(reportToJson(report)),
      });
    },
    async claim(name, runnerId) {
      const claimed = await transport.call<ProjectionRequestJson | undefined>({
        method: 'POST',
        path: `${projectionPath(name)}/claim`,
        body: JSON.stringify({ runnerId }),
      });
      return claimed === undefined ? undefined : requestFromJson(claimed);
    },
    async settle(name, requestId, outcome) {
      await transport.call({
        method: 'POST',
        path: `${projectionPath(name)}/requests/${encodeURIComponent(requestId)}/settle`,
        body: JSON.stringify(outcome),
      });
    },
  };
};
