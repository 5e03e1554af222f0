/**
 * Prometheus metrics of one server (its own registry, so that several servers can live in one process).
 * Appends and reads are counted and timed by the request histogram, labelled by route; beside it, the
 * events written and read, open subscriptions, errors by code, and Node's defaults (event loop lag,
 * memory, GC), whether the server is read-only, and the bytes the store takes on disk beside its budget.
 * Projections, consumer groups and disk use are read from the store at each scrape: what projection
 * runners last reported, wherever they run, and each group's lag and parked events.
 */
import type { GroupInfo, Groups } from '../bus/groups/model.js';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ProjectionInfo, Projections } from '../projection/registry/model.js';
import type { ReplicaStatus } from '../store/follow-store.js';
import type { DiskUsage } from '../store/model.js';

const latencyBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

const projectionStates = ['running', 'paused', 'failed', 'stopped', 'stale'] as const;

/** A gauge per projection, set at each scrape from the registry's last reports. */
const projectionGauge = (
  registers: Registry[],
  projections: Projections,
  name: string,
  help: string,
  value: (info: ProjectionInfo) => number | undefined,
) =>
  new Gauge({
    name,
    help,
    labelNames: ['projection'],
    registers,
    async collect() {
      this.reset();
      for (const info of await projections.list().catch(() => [])) {
        const measured = value(info);
        if (measured !== undefined) this.set({ projection: info.name }, measured);
      }
    },
  });

const ratio = ({ done, total }: { done: number; total: number }) => (total === 0 ? 1 : done / total);

/**
 * The disk gauges: the bytes used, read at each scrape (`diskUsage` is cheap: file sizes or catalog sizes,
 * never a count), and the budget, fixed for the server's life, only when there is one, so that
 * `used / budget` has no value without one.
 */
const diskGauges = (registers: Registry[], diskUsage: () => Promise<DiskUsage>, budgetBytes: number | undefined) => {
  new Gauge({
    name: 'annals_disk_used_bytes',
    help: 'Bytes the store takes on disk: SQLite the database file and its write-ahead log, PostgreSQL the schema (tables, indexes, TOAST), memory 0',
    registers,
    async collect() {
      const usage = await diskUsage().catch(() => undefined);
      if (usage !== undefined) this.set(usage.usedBytes);
    },
  });
  if (budgetBytes === undefined) return;
  new Gauge({
    name: 'annals_disk_budget_bytes',
    help: 'The disk budget of the store (annals serve --max-size)',
    registers,
  }).set(budgetBytes);
};

export const createMetrics = (
  projections: Projections,
  groups: Groups,
  diskUsage: () => Promise<DiskUsage>,
  budgetBytes: number | undefined,
  replica: () => ReplicaStatus | undefined = () => undefined,
) => {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const metrics = {
    registry,
    appendedEvents: new Counter({ name: 'annals_appended_events_total', help: 'Events written by acknowledged appends', registers }),
    readEvents: new Counter({ name: 'annals_read_events_total', help: 'Events sent by reads', labelNames: ['source'], registers }),
    subscriptions: new Gauge({ name: 'annals_subscriptions_active', help: 'Open subscriptions', registers }),
    groupDeliveries: new Counter({
      name: 'annals_group_deliveries_total',
      help: 'Deliveries of consumer groups sent to consumers (pulls and pushes)',
      labelNames: ['group'],
      registers,
    }),
    groupSettles: new Counter({
      name: 'annals_group_settles_total',
      help: 'Delivery ids of consumer groups settled, by action (ack, retry, park, skip)',
      labelNames: ['group', 'action'],
      registers,
    }),
    errors: new Counter({ name: 'annals_errors_total', help: 'Error responses by code', labelNames: ['code'], registers }),
    readOnly: new Gauge({
      name: 'annals_read_only',
      help: 'Whether the server refuses writes, by reason (flag, replica, disk_budget, disk_full, db_read_only, down): 1 for the reason now, 0 otherwise',
      labelNames: ['reason'],
      registers,
    }),
    replicaLag: new Gauge({
      name: 'annals_replica_lag_seconds',
      help: 'How far behind its primary this replica may be (0 on a primary, and on a replica that is level with it)',
      registers,
      collect() {
        this.set(replica()?.lagSeconds ?? 0);
      },
    }),
    replicaLive: new Gauge({
      name: 'annals_replica_live',
      help: 'Whether this replica follows its primary live now (1), or is catching up, out of touch or stopped (0); 1 on a primary',
      registers,
      collect() {
        this.set((replica()?.live ?? true) ? 1 : 0);
      },
    }),
    requests: new Histogram({
      name: 'annals_http_request_duration_seconds',
      help: 'HTTP requests by route and status',
      labelNames: ['method', 'route', 'status'],
      buckets: latencyBuckets,
      registers,
    }),
  };
  const gauge = (name: string, help: string, value: (info: ProjectionInfo) => number | undefined) =>
    projectionGauge(registers, projections, name, help, value);
  diskGauges(registers, diskUsage, budgetBytes);
  gauge('annals_projection_position', 'Position of the last event applied to the serving build', (info) => Number(info.position));
  gauge('annals_projection_lag', 'Positions between the serving build and the head of the log', (info) => info.lag);
  // The name and labels DESIGN.md section 11 gives alert rules: the lag of each version a runner runs.
  new Gauge({
    name: 'annals_projection_lag_events',
    help: 'Events between the build a projection runner serves from and the head of the log, by projection and version',
    labelNames: ['projection', 'version'],
    registers,
    async collect() {
      this.reset();
      for (const info of await projections.list().catch(() => []))
        this.set({ projection: info.name, version: String(info.version) }, info.lag);
    },
  });
  gauge('annals_projection_rate', 'Events per second applied over the last heartbeat', (info) => info.rate);
  gauge('annals_projection_progress_ratio', 'Done over total of the work under way (catching up or a replay)', (info) =>
    ratio(info.progress),
  );
  gauge('annals_projection_rebuild_progress_ratio', 'Done over total of the rebuild under way', (info) =>
    info.rebuild === null ? undefined : ratio(info.rebuild.progress),
  );
  gauge(
    'annals_projection_heartbeat_age_seconds',
    'Seconds since the runner last reported',
    (info) => (Date.now() - info.heartbeatAt.getTime()) / 1000,
  );
  new Gauge({
    name: 'annals_projection_state',
    help: 'The state of each projection: 1 for its state, 0 for the others',
    labelNames: ['projection', 'state'],
    registers,
    async collect() {
      this.reset();
      for (const info of await projections.list().catch(() => [])) {
        for (const state of projectionStates) this.set({ projection: info.name, state }, info.state === state ? 1 : 0);
      }
    },
  });
  // Consumer groups as alerts need them: gathered from the groups' own counts at each scrape.
  const groupGauge = (name: string, help: string, value: (info: GroupInfo) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['group'],
      registers,
      async collect() {
        this.reset();
        for (const info of await groups.list().catch(() => [])) this.set({ group: info.name }, value(info));
      },
    });
  groupGauge(
    'annals_group_lag_events',
    'Events of the source not yet settled by the group (exact up to a bound, then estimated)',
    (info) => info.lag.events,
  );
  groupGauge('annals_group_lag_seconds', 'Age of the oldest event the group has not settled', (info) => info.lag.seconds);
  groupGauge(
    'annals_group_parked_events',
    'Events the group parked after their attempts ran out, waiting for a replay',
    (info) => info.parked,
  );
  return metrics;
};

export type Metrics = ReturnType<typeof createMetrics>;
