/**
 * Projections: what their runners report (state, position, lag, progress, last error) and control by
 * requests that a runner carries out: replay, pause, resume (POST /projections/{name}/…, answered 202 with
 * a request id that shows up in the projection's requests).
 */
import { useState } from 'preact/hooks';
import { api, segment } from '../api';
import type { ProjectionInfoJson } from '../../../src/projection/registry/json';
import { Columns, Confirm, ErrorNote, formatNumber, Json, Stat, useResource } from '../common';

const href = (name: string) => `#/projections/${segment(name)}`;

const ProgressBar = ({ progress, label }: { progress: ProjectionInfoJson['progress']; label: string }) =>
  progress.total === 0 ? null : <progress value={progress.done} max={progress.total} aria-label={label} />;

const ProjectionList = () => {
  const list = useResource(() => api.json<{ projections: ProjectionInfoJson[] }>('/projections'), 'projections', 5000);
  return (
    <section aria-labelledby="projections-title">
      <h1 id="projections-title">Projections</h1>
      <ErrorNote error={list.error} />
      {list.data !== undefined &&
        (list.data.projections.length === 0 ? (
          <p class="note">No projection has reported to this server.</p>
        ) : (
          <table>
            <Columns names={['Projection', 'State', 'Position', 'Lag', 'Rate', 'Runner']} />
            <tbody>
              {list.data.projections.map((p) => (
                <tr key={p.name}>
                  <td class="mono">
                    <a href={href(p.name)}>{p.name}</a>
                  </td>
                  <td>{p.state}</td>
                  <td class="mono">{p.position}</td>
                  <td>{formatNumber(p.lag)}</td>
                  <td>{p.rate.toFixed(1)}/s</td>
                  <td class="mono">{p.host}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ))}
    </section>
  );
};

const Projection = ({ name }: { name: string }) => {
  const path = `/projections/${segment(name)}`;
  const info = useResource(() => api.json<ProjectionInfoJson>(path), name, 3000);
  const [confirm, setConfirm] = useState(false);
  const [outcome, setOutcome] = useState<{ ok: boolean; text: string } | null>(null);
  const ask = async (kind: 'replay' | 'pause' | 'resume') => {
    setConfirm(false);
    try {
      const { requestId } = await api.send<{ requestId: string }>('POST', `${path}/${kind}`, kind === 'replay' ? {} : undefined);
      setOutcome({ ok: true, text: `Asked to ${kind} (request ${requestId}); its runner carries it out.` });
      info.reload();
    } catch (error) {
      setOutcome({ ok: false, text: error instanceof Error ? error.message : String(error) });
    }
  };
  const p = info.data;
  return (
    <section aria-labelledby="projection-title">
      <p>
        <a href="#/projections">← Projections</a>
      </p>
      <h1 id="projection-title" class="mono">
        {name}
      </h1>
      <ErrorNote error={info.error} />
      {outcome !== null && (
        <p class={outcome.ok ? 'note' : 'error'} role={outcome.ok ? 'status' : 'alert'}>
          {outcome.text}
        </p>
      )}
      {p !== undefined && (
        <>
          <div class="grid-stats">
            {(
              [
                ['State', p.state],
                [
                  'Version',
                  `${p.version}${p.activeVersion === null || p.activeVersion === p.version ? '' : ` (active ${p.activeVersion})`}`,
                ],
                ['Position', p.position],
                ['Lag', `${formatNumber(p.lag)} events`],
                ['Rate', `${p.rate.toFixed(1)}/s`],
                ['Runner', `${p.host} (${p.runnerId})`],
                ['Heartbeat', p.heartbeatAt],
              ] as const
            ).map(([label, value]) => (
              <Stat key={label} label={label} value={value} long={label === 'Runner' || label === 'Heartbeat'} />
            ))}
          </div>
          <ProgressBar progress={p.progress} label="Progress of the work under way" />
          {p.lastError !== null && (
            <p class="error" role="alert">
              Last error: {p.lastError.message}
              {p.lastError.eventType === undefined ? '' : ` (event ${p.lastError.eventType} at ${p.lastError.position ?? '?'})`}
            </p>
          )}
          <div class="row">
            <button type="button" onClick={() => setConfirm(true)}>
              Replay…
            </button>
            <button type="button" class="secondary" onClick={() => void ask(p.state === 'paused' ? 'resume' : 'pause')}>
              {p.state === 'paused' ? 'Resume' : 'Pause'}
            </button>
          </div>
          <h2>Requests</h2>
          {p.requests.length === 0 ? (
            <p class="note">No requests.</p>
          ) : (
            <table data-testid="requests">
              <Columns names={['Request', 'Kind', 'State', 'Progress', 'Created']} />
              <tbody>
                {p.requests.map((r) => (
                  <tr key={r.requestId}>
                    <td class="mono">{r.requestId}</td>
                    <td>{r.kind}</td>
                    <td>
                      {r.state}
                      {r.error === null ? '' : `: ${r.error}`}
                    </td>
                    <td>{r.progress === null ? '—' : `${r.progress.done} of ${r.progress.total}`}</td>
                    <td class="mono">{r.createdAt}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <details>
            <summary>Everything the runner reports</summary>
            <Json value={p} />
          </details>
        </>
      )}
      <Confirm
        open={confirm}
        title={`Replay ${name}?`}
        confirmLabel="Replay"
        onConfirm={() => void ask('replay')}
        onCancel={() => setConfirm(false)}
      >
        <p>The projection's runner replays the whole log into it again. Its read model is rebuilt meanwhile.</p>
      </Confirm>
    </section>
  );
};

export const Projections = ({ name }: { name: string | undefined }) =>
  name === undefined ? <ProjectionList /> : <Projection name={name} />;
