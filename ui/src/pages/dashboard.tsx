/**
 * The store at a glance, polled every 3 seconds: /stats (the whole store, with the server's rates over the
 * last minute: needs a token without stream prefixes) and /health/ready (public).
 */
import type { StoreStatsJson } from '../../../src/protocol/wire';
import { api } from '../api';
import { ErrorNote, formatBytes, formatNumber, Stat, useResource } from '../common';

/** `/stats`: the store's, and what the server adds. */
interface Stats extends StoreStatsJson {
  readOnly: { reason: string; since: string } | null;
  rates: { appendedEventsPerSecond: number; readEventsPerSecond: number; windowSeconds: number };
  subscriptions: number;
  replica?: { primary: string; live: boolean; appliedPosition: string; lagSeconds: number | null };
}
interface Ready {
  status: 'ready' | 'read_only';
  reason?: string;
  since?: string;
  replica?: { primary: string; live: boolean; lagSeconds: number | null };
}

const pollMs = 3000;

const rate = (value: number) => `${value.toFixed(value < 10 ? 1 : 0)}/s`;

export const Dashboard = () => {
  const stats = useResource(() => api.json<Stats>('/stats'), 'stats', pollMs);
  const ready = useResource(() => api.json<Ready>('/health/ready'), 'ready', pollMs);
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
          <Stat label="Events appended" value={rate(s.rates.appendedEventsPerSecond)} />
          <Stat label="Events read" value={rate(s.rates.readEventsPerSecond)} />
          <Stat label="Subscriptions" value={formatNumber(s.subscriptions)} />
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
    </section>
  );
};
