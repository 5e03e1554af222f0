/**
 * The store at a glance, polled every 3 seconds: /stats (the whole store: needs a token without stream
 * prefixes), /health/ready (public) and rates from the deltas of /metrics counters between two polls.
 */
import { useRef } from 'preact/hooks';
import { api } from '../api';
import { ErrorNote, formatBytes, formatNumber, useResource } from '../common';

interface Stats {
  engine: string;
  events: number;
  streams: number;
  headPosition: string;
  storeId: string;
  epoch: number;
  epochStart: string;
  disk: { usedBytes?: number; budgetBytes?: number };
  replica?: { primary: string; live: boolean; appliedPosition: string; lagSeconds: number | null };
}
interface Ready {
  status: 'ready' | 'read_only';
  reason?: string;
  since?: string;
  replica?: { primary: string; live: boolean; lagSeconds: number | null };
}

const pollMs = 3000;

/** Sums the samples of a Prometheus counter or gauge in the text format. */
export const metricSum = (text: string, name: string): number | undefined => {
  let sum: number | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith(name) && (line[name.length] === ' ' || line[name.length] === '{')) {
      const value = Number(line.slice(line.lastIndexOf(' ') + 1));
      if (Number.isFinite(value)) sum = (sum ?? 0) + value;
    }
  }
  return sum;
};

interface Rates {
  appends?: number;
  reads?: number;
  subscriptions?: number;
}

const useRates = () => {
  const last = useRef<{ at: number; appends: number; reads: number } | undefined>(undefined);
  return useResource<Rates>(
    async () => {
      const text = await api.text('/metrics');
      const now = performance.now();
      const appends = metricSum(text, 'annals_appended_events_total') ?? 0;
      const reads = metricSum(text, 'annals_read_events_total') ?? 0;
      const before = last.current;
      last.current = { at: now, appends, reads };
      const subscriptions = metricSum(text, 'annals_subscriptions_active');
      if (before === undefined) return { subscriptions };
      const seconds = (now - before.at) / 1000;
      return { appends: (appends - before.appends) / seconds, reads: (reads - before.reads) / seconds, subscriptions };
    },
    'rates',
    pollMs,
  );
};

const Stat = ({ label, value, testId, long }: { label: string; value: string; testId?: string; long?: boolean }) => (
  <article>
    <dl>
      <dt>{label}</dt>
      <dd data-testid={testId} class={long === true ? 'long' : undefined}>
        {value}
      </dd>
    </dl>
  </article>
);

const rate = (value: number | undefined) => (value === undefined ? 'measuring…' : `${value.toFixed(value < 10 ? 1 : 0)}/s`);

export const Dashboard = () => {
  const stats = useResource(() => api.json<Stats>('/stats'), 'stats', pollMs);
  const ready = useResource(() => api.json<Ready>('/health/ready'), 'ready', pollMs);
  const rates = useRates();
  const s = stats.data;
  const replica = s?.replica ?? ready.data?.replica;
  return (
    <section aria-labelledby="dashboard-title">
      <h1 id="dashboard-title">Dashboard</h1>
      <p class="note" aria-live="polite">
        {ready.data === undefined
          ? 'Checking health…'
          : ready.data.status === 'ready'
            ? 'Ready: reads and writes are served.'
            : `Read-only since ${ready.data.since ?? '?'}: ${ready.data.reason ?? 'unknown reason'}. Reads go on; writes are refused.`}
      </p>
      <ErrorNote error={ready.error} />
      <ErrorNote error={stats.error} />
      {s !== undefined && (
        <div class="grid-stats">
          <Stat label="Engine" value={s.engine} testId="engine" />
          <Stat label="Events" value={formatNumber(s.events)} testId="events" />
          <Stat label="Streams" value={formatNumber(s.streams)} />
          <Stat label="Head position" value={s.headPosition} />
          <Stat label="Appends" value={rate(rates.data?.appends)} />
          <Stat label="Events read" value={rate(rates.data?.reads)} />
          <Stat label="Subscriptions" value={formatNumber(rates.data?.subscriptions)} />
          <Stat
            label="Disk"
            value={
              s.disk.budgetBytes === undefined
                ? formatBytes(s.disk.usedBytes)
                : `${formatBytes(s.disk.usedBytes)} of ${formatBytes(s.disk.budgetBytes)}`
            }
          />
          <Stat label="Store" value={s.storeId} long />
          <Stat label="Epoch" value={`${s.epoch} (from ${s.epochStart})`} />
          {replica !== undefined && (
            <Stat
              label={`Replica of ${replica.primary}`}
              value={`${replica.live ? 'live' : 'not live'}, lag ${replica.lagSeconds === null ? '?' : `${replica.lagSeconds.toFixed(1)} s`}`}
            />
          )}
        </div>
      )}
      <ErrorNote error={rates.error} />
    </section>
  );
};
