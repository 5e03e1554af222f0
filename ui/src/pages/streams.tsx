/**
 * Streams: a list by prefix, a page at a time (GET /streams?prefix&after&limit), and one stream's events
 * (newest first, a page at a time), metadata with its ACL, snapshot, and delete or tombstone after a
 * confirmation. Streams a token may not read are already left out by the server.
 */
import { useState } from 'preact/hooks';
import type { EventPageJson, RecordedEventJson, StreamListJson } from '../../../src/protocol/wire';
import { api, ApiError, query, segment } from '../api';
import { Columns, Confirm, ErrorNote, Json, PageButtons, useResource, usePages } from '../common';

const pageSize = 25;

export const streamHref = (name: string) => `#/streams/${segment(name)}`;

export const Streams = () => {
  const [prefix, setPrefix] = useState('');
  const [typed, setTyped] = useState('');
  const pages = usePages();
  const after = pages.cursor;
  const list = useResource(
    () => api.json<StreamListJson>(query('/streams', { prefix, after, limit: String(pageSize) })),
    `${prefix}\u0000${after ?? ''}`,
  );
  return (
    <section aria-labelledby="streams-title">
      <h1 id="streams-title">Streams</h1>
      <form
        role="search"
        class="row"
        onSubmit={(event) => {
          event.preventDefault();
          setPrefix(typed.trim());
          pages.reset();
        }}
      >
        <label for="prefix" class="visually-hidden">
          Stream name prefix
        </label>
        <input
          id="prefix"
          type="search"
          placeholder="Stream name prefix, e.g. order-"
          value={typed}
          onInput={(e) => setTyped(e.currentTarget.value)}
        />
        <button type="submit">Search</button>
      </form>
      <ErrorNote error={list.error} />
      {list.data !== undefined && (
        <>
          {list.data.streams.length === 0 ? (
            <p class="note">No streams{prefix === '' ? '' : ` starting with “${prefix}”`}.</p>
          ) : (
            <table aria-busy={list.loading}>
              <Columns names={['Stream', 'Revision', 'Last position']} />
              <tbody>
                {list.data.streams.map((s) => (
                  <tr key={s.stream}>
                    <td class="mono">
                      <a href={streamHref(s.stream)}>{s.stream}</a>{' '}
                      {s.deleted !== undefined && <span class="badge">{s.deleted === 'hard' ? 'tombstoned' : 'deleted'}</span>}
                    </td>
                    <td>{s.revision}</td>
                    <td class="mono">{s.position ?? '—'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <PageButtons pages={pages} next={list.data.next} label="Pages of streams" />
        </>
      )}
    </section>
  );
};

const EventRow = ({ event }: { event: RecordedEventJson }) => (
  <details>
    <summary>
      <span class="mono">#{event.revision}</span> <strong>{event.type}</strong> <small class="mono">{event.recordedAt}</small>
    </summary>
    <p class="mono">
      <small>
        id {event.id} · position {event.position}
      </small>
    </p>
    <Json value={event.data} />
    {event.metadata !== undefined && event.metadata !== null && Object.keys(event.metadata).length > 0 && (
      <>
        <h4>Metadata</h4>
        <Json value={event.metadata} />
      </>
    )}
  </details>
);

export const Stream = ({ name }: { name: string }) => {
  const path = `/streams/${segment(name)}`;
  const pages = usePages();
  const from = pages.cursor ?? 'end';
  const events = useResource(
    () => api.json<EventPageJson>(query(path, { from, direction: 'backwards', limit: '20' })),
    `${name}\u0000${from}`,
  );
  const metadata = useResource(() => api.json<unknown>(`${path}/metadata`), `meta\u0000${name}`);
  const snapshot = useResource(
    () =>
      api.json<unknown>(`/snapshots/${segment(name)}`).catch((error: unknown) => {
        if (error instanceof ApiError && error.status === 404) return null;
        throw error;
      }),
    `snap\u0000${name}`,
  );
  const [confirm, setConfirm] = useState<'soft' | 'hard' | null>(null);
  const [outcome, setOutcome] = useState<{ ok: boolean; text: string } | null>(null);
  const remove = async (hard: boolean) => {
    setConfirm(null);
    try {
      await api.send('DELETE', query(path, { hard: hard ? 'true' : undefined }));
      setOutcome({ ok: true, text: hard ? `${name} is tombstoned: it can never be written again.` : `${name} is deleted.` });
      events.reload();
    } catch (error) {
      setOutcome({ ok: false, text: error instanceof Error ? error.message : String(error) });
    }
  };
  return (
    <section aria-labelledby="stream-title">
      <p>
        <a href="#/streams">← Streams</a>
      </p>
      <h1 id="stream-title" class="mono">
        {name}
      </h1>
      {outcome !== null && (
        <p class={outcome.ok ? 'note' : 'error'} role={outcome.ok ? 'status' : 'alert'}>
          {outcome.text}
        </p>
      )}
      <h2>Events</h2>
      <ErrorNote error={events.error} />
      {events.data !== undefined && (
        <div aria-busy={events.loading} data-testid="events">
          {events.data.events.length === 0 ? (
            <p class="note">No events here.</p>
          ) : (
            events.data.events.map((event) => <EventRow key={event.id} event={event} />)
          )}
          <PageButtons pages={pages} next={events.data.next} label="Pages of events" labels={['Newer', 'Older']} />
        </div>
      )}
      <h2>Metadata and ACL</h2>
      <ErrorNote error={metadata.error} />
      {metadata.data !== undefined && <Json value={metadata.data} />}
      <h2>Snapshot</h2>
      <ErrorNote error={snapshot.error} />
      {snapshot.data === null ? <p class="note">No snapshot.</p> : snapshot.data !== undefined && <Json value={snapshot.data} />}
      <h2>Danger zone</h2>
      <div class="row">
        <button type="button" class="secondary" onClick={() => setConfirm('soft')}>
          Delete stream…
        </button>
        <button type="button" class="danger" onClick={() => setConfirm('hard')}>
          Tombstone stream…
        </button>
      </div>
      <Confirm
        open={confirm !== null}
        title={confirm === 'hard' ? `Tombstone ${name}?` : `Delete ${name}?`}
        confirmLabel={confirm === 'hard' ? 'Tombstone' : 'Delete'}
        onConfirm={() => void remove(confirm === 'hard')}
        onCancel={() => setConfirm(null)}
      >
        <p>
          {confirm === 'hard'
            ? 'A tombstoned stream is gone for good: its name can never be written again.'
            : 'A deleted stream reads as absent; appending to it again starts it anew after its last revision.'}
        </p>
      </Confirm>
    </section>
  );
};
