/**
 * Consumer groups: the list (GET /groups, only the groups the token covers), one group's state, its
 * consumers, and its parked events, which an admin may queue again (POST /groups/{group}/parked/replay) after confirming.
 */
import { useState } from 'preact/hooks';
import type { GroupInfoJson, ParkedPageJson } from '../../../src/protocol/wire';
import { api, query, segment } from '../api';
import { Columns, Confirm, ErrorNote, formatNumber, Json, PageButtons, Stat, useResource, usePages } from '../common';
import { streamHref } from './streams';

const href = (name: string) => `#/groups/${segment(name)}`;

const GroupList = () => {
  const groups = useResource(() => api.json<{ groups: GroupInfoJson[] }>('/groups'), 'groups', 5000);
  return (
    <section aria-labelledby="groups-title">
      <h1 id="groups-title">Consumer groups</h1>
      <ErrorNote error={groups.error} />
      {groups.data !== undefined &&
        (groups.data.groups.length === 0 ? (
          <p class="note">No consumer groups.</p>
        ) : (
          <table>
            <Columns names={['Group', 'State', 'Lag', 'Pending', 'In flight', 'Parked', 'Consumers']} />
            <tbody>
              {groups.data.groups.map((g) => (
                <tr key={g.name}>
                  <td class="mono">
                    <a href={href(g.name)}>{g.name}</a>
                  </td>
                  <td>{g.state.replace('_', ' ')}</td>
                  <td>
                    {g.lag.estimated ? '≈' : ''}
                    {formatNumber(g.lag.events)}
                  </td>
                  <td>{formatNumber(g.pending)}</td>
                  <td>{formatNumber(g.inFlight)}</td>
                  <td>{formatNumber(g.parked)}</td>
                  <td>{g.consumers.length}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ))}
    </section>
  );
};

const Group = ({ name }: { name: string }) => {
  const path = `/groups/${segment(name)}`;
  const info = useResource(() => api.json<GroupInfoJson>(path), `info\u0000${name}`, 5000);
  const pages = usePages();
  const parked = useResource(
    () => api.json<ParkedPageJson>(query(`${path}/parked`, { after: pages.cursor, limit: '50' })),
    `parked\u0000${name}\u0000${pages.cursor ?? ''}`,
  );
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [confirm, setConfirm] = useState(false);
  const [outcome, setOutcome] = useState<{ ok: boolean; text: string } | null>(null);
  const replay = async () => {
    setConfirm(false);
    try {
      const body = selected.size > 0 ? { ids: [...selected] } : {};
      const { replayed } = await api.send<{ replayed: number }>('POST', `${path}/parked/replay`, body);
      setOutcome({ ok: true, text: `${replayed} parked event${replayed === 1 ? '' : 's'} queued again.` });
      setSelected(new Set());
      parked.reload();
      info.reload();
    } catch (error) {
      setOutcome({ ok: false, text: error instanceof Error ? error.message : String(error) });
    }
  };
  const toggle = (position: string) => {
    const next = new Set(selected);
    if (next.has(position)) next.delete(position);
    else next.add(position);
    setSelected(next);
  };
  const g = info.data;
  return (
    <section aria-labelledby="group-title">
      <p>
        <a href="#/groups">← Groups</a>
      </p>
      <h1 id="group-title" class="mono">
        {name}
      </h1>
      <ErrorNote error={info.error} />
      {g !== undefined && (
        <div class="grid-stats">
          {(
            [
              ['State', g.state.replace('_', ' ')],
              ['Checkpoint', g.checkpoint],
              ['Lag', `${g.lag.estimated ? '≈' : ''}${formatNumber(g.lag.events)} events, ${g.lag.seconds.toFixed(1)} s`],
              ['Pending', formatNumber(g.pending)],
              ['In flight', formatNumber(g.inFlight)],
              ['Parked', formatNumber(g.parked)],
              ['Rate', `${g.rate.toFixed(1)}/s`],
            ] as const
          ).map(([label, value]) => (
            <Stat key={label} label={label} value={value} />
          ))}
        </div>
      )}
      {g !== undefined && (
        <details>
          <summary>Settings</summary>
          <Json value={g.settings} />
        </details>
      )}
      {g !== undefined && (
        <>
          <h2>Consumers</h2>
          {g.consumers.length === 0 ? (
            <p class="note">No consumers.</p>
          ) : (
            <table data-testid="consumers">
              <Columns names={['Consumer', 'In flight', 'Last seen']} />
              <tbody>
                {g.consumers.map((c) => (
                  <tr key={c.name}>
                    <td class="mono">{c.name}</td>
                    <td>{formatNumber(c.inFlight)}</td>
                    <td class="mono">
                      <time dateTime={c.lastSeenAt}>{c.lastSeenAt}</time>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
      <h2>Parked events</h2>
      {outcome !== null && (
        <p class={outcome.ok ? 'note' : 'error'} role={outcome.ok ? 'status' : 'alert'}>
          {outcome.text}
        </p>
      )}
      <ErrorNote error={parked.error} />
      {parked.data !== undefined &&
        (parked.data.parked.length === 0 ? (
          <p class="note">No parked events.</p>
        ) : (
          <>
            <table data-testid="parked">
              <Columns names={['Select', 'Event', 'Reason', 'Attempts', 'Parked at']} />
              <tbody>
                {parked.data.parked.map(({ event, reason, attempts, parkedAt }) => (
                  <tr key={event.position}>
                    <td>
                      <input
                        type="checkbox"
                        aria-label={`Select the event at position ${event.position}`}
                        checked={selected.has(event.position)}
                        onChange={() => toggle(event.position)}
                      />
                    </td>
                    <td class="mono">
                      {event.type} <a href={streamHref(event.stream)}>{event.stream}</a>@{event.revision} (position {event.position})
                    </td>
                    <td>{reason}</td>
                    <td>{attempts}</td>
                    <td class="mono">{parkedAt}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            <div class="row">
              <button type="button" onClick={() => setConfirm(true)}>
                {selected.size > 0 ? `Replay ${selected.size} selected…` : 'Replay all parked…'}
              </button>
            </div>
            <PageButtons pages={pages} next={parked.data.next} label="Pages of parked events" />
          </>
        ))}
      <Confirm
        open={confirm}
        title="Replay parked events?"
        confirmLabel="Replay"
        onConfirm={() => void replay()}
        onCancel={() => setConfirm(false)}
      >
        <p>
          {selected.size > 0 ? `${selected.size} selected parked events` : 'Every parked event of this group'} will be delivered again, at
          attempt 1.
        </p>
      </Confirm>
    </section>
  );
};

export const Groups = ({ name }: { name: string | undefined }) => (name === undefined ? <GroupList /> : <Group name={name} />);
