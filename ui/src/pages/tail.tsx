/**
 * Live tail of $all: GET /subscribe/all read through fetch (the token goes in a header, never the URL),
 * filtered by types, category and stream prefixes. Events arrive into a plain buffer and are drawn in an
 * animation frame, at most every `drawEveryMs`; only the newest `shown` are kept, the rest are counted, so a
 * thousand events a second never freeze the page. A dropped connection resumes after the last position seen.
 */
import { Component } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import type { RecordedEventJson } from '../../../src/protocol/wire';
import { ApiError, query, subscribe } from '../api';
import { Columns, ErrorNote } from '../common';
import { streamHref } from './streams';

const shown = 200;
/**
 * Drawing moves all the rows down, so the browser lays out and paints the whole table again: under a
 * thousand events a second, that in every frame left no time for anything else (frames 50 to 130 ms apart
 * in the ui bench). Ten times a second still reads as live. On a busy machine a draw takes longer, so the
 * next one waits `drawShare` times as long as the last took: drawing keeps to a quarter of the time.
 */
const drawEveryMs = 100;
const drawShare = 4;
const list = (text: string) =>
  text
    .split(',')
    .map((one) => one.trim())
    .filter((one) => one !== '');

interface Filters {
  types: string;
  category: string;
  streams: string;
}

interface View {
  events: RecordedEventJson[];
  received: number;
  state: 'connecting' | 'catching up' | 'live' | 'paused' | 'reconnecting' | 'stopped';
}

/** A row of the tail, drawn once: an event does not change, so a draw only adds rows and drops the oldest. */
class Row extends Component<{ event: RecordedEventJson }> {
  override shouldComponentUpdate(next: { event: RecordedEventJson }) {
    return next.event !== this.props.event;
  }
  override render({ event }: { event: RecordedEventJson }) {
    return (
      <tr>
        <td>{event.position}</td>
        <td>
          <a href={streamHref(event.stream)}>
            {event.stream}@{event.revision}
          </a>
        </td>
        <td>{event.type}</td>
        <td>{JSON.stringify(event.data).slice(0, 160)}</td>
      </tr>
    );
  }
}

export const Tail = () => {
  const [form, setForm] = useState<Filters>({ types: '', category: '', streams: '' });
  const [filters, setFilters] = useState<Filters>(form);
  const [paused, setPaused] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const [view, setView] = useState<View>({ events: [], received: 0, state: 'connecting' });
  const pending = useRef<RecordedEventJson[]>([]);
  const received = useRef(0);
  useEffect(() => {
    if (paused) {
      setView((v) => ({ ...v, state: 'paused' }));
      return;
    }
    const abort = new AbortController();
    let last: string | undefined;
    let state: View['state'] = 'connecting';
    let drawnAt = -Infinity;
    /** How long the last draw took, to the next frame: its script, style, layout and paint. */
    let drawMs = 0;
    /** Cancels the draw scheduled, if any. */
    let scheduled: (() => void) | undefined;
    const draw = () => {
      scheduled = undefined;
      const started = (drawnAt = performance.now());
      const fresh = pending.current;
      pending.current = [];
      setView((v) => {
        const events = fresh.length >= shown ? fresh.slice(-shown).reverse() : [...fresh.reverse(), ...v.events].slice(0, shown);
        return { events, received: received.current, state };
      });
      requestAnimationFrame(() => (drawMs = performance.now() - started));
    };
    const schedule = () => {
      if (scheduled !== undefined) return;
      const wait = drawnAt + Math.max(drawEveryMs, drawShare * drawMs) - performance.now();
      let frame = wait > 0 ? undefined : requestAnimationFrame(draw);
      const timer = wait > 0 ? setTimeout(() => (frame = requestAnimationFrame(draw)), wait) : undefined;
      scheduled = () => {
        clearTimeout(timer);
        if (frame !== undefined) cancelAnimationFrame(frame);
      };
    };
    const run = async () => {
      for (let attempt = 0; !abort.signal.aborted; attempt++) {
        const path = query('/subscribe/all', {
          from: last ?? 'end',
          types: list(filters.types),
          category: filters.category.trim(),
          streams: list(filters.streams),
        });
        try {
          await subscribe(
            path,
            (message) => {
              // A checkpoint moves the resume position past filtered-out events without sending them.
              if (message.event === 'checkpoint' && message.id !== undefined) last = message.id;
              if (message.event === 'caught-up') state = 'live';
              else if (message.event === 'problem') setError(new ApiError(0, 'subscription', message.data));
              else if (message.event === undefined || message.event === 'message') {
                const event = JSON.parse(message.data) as RecordedEventJson;
                last = event.position;
                received.current++;
                pending.current.push(event);
                if (pending.current.length > shown) pending.current.splice(0, pending.current.length - shown);
              } else return;
              attempt = 0;
              schedule();
            },
            abort.signal,
          );
        } catch (failure) {
          if (abort.signal.aborted) return;
          // A refusal will not go away by retrying; a dropped connection may.
          if (failure instanceof ApiError && failure.status >= 400 && failure.status < 500) {
            setError(failure);
            state = 'stopped';
            schedule();
            return;
          }
          setError(failure);
        }
        if (abort.signal.aborted) return;
        state = 'reconnecting';
        schedule();
        await new Promise((resolve) => setTimeout(resolve, Math.min(10_000, 500 * 2 ** attempt)));
      }
    };
    setError(undefined);
    state = 'catching up';
    schedule();
    void run();
    return () => {
      abort.abort();
      scheduled?.();
    };
  }, [filters, paused]);

  const hidden = view.received - view.events.length;
  return (
    <section aria-labelledby="tail-title">
      <h1 id="tail-title">Live tail of $all</h1>
      <form
        class="filters"
        onSubmit={(event) => {
          event.preventDefault();
          received.current = 0;
          pending.current = [];
          setView({ events: [], received: 0, state: 'connecting' });
          setFilters({ ...form });
        }}
      >
        <label>
          Event types
          <input
            value={form.types}
            placeholder="OrderPlaced, OrderShipped"
            onInput={(e) => setForm({ ...form, types: e.currentTarget.value })}
          />
        </label>
        <label>
          Category
          <input value={form.category} placeholder="order" onInput={(e) => setForm({ ...form, category: e.currentTarget.value })} />
        </label>
        <label>
          Stream prefixes
          <input
            value={form.streams}
            placeholder="order-, payment-"
            onInput={(e) => setForm({ ...form, streams: e.currentTarget.value })}
          />
        </label>
        <button type="submit">Apply</button>
      </form>
      <div class="row">
        <button type="button" class="secondary" onClick={() => setPaused(!paused)} aria-pressed={paused}>
          {paused ? 'Resume' : 'Pause'}
        </button>
        <p role="status" data-testid="tail-status">
          {view.state} · {view.received.toLocaleString('en')} event{view.received === 1 ? '' : 's'} received
          {hidden > 0 ? ` (newest ${view.events.length} shown, ${hidden.toLocaleString('en')} more not shown)` : ''}
        </p>
      </div>
      <ErrorNote error={error} />
      <table class="tail" data-testid="tail">
        <Columns names={['Position', 'Stream', 'Type', 'Data']} />
        <tbody>
          {view.events.map((event) => (
            <Row key={event.position} event={event} />
          ))}
        </tbody>
      </table>
    </section>
  );
};
