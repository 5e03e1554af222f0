/**
 * Prometheus metrics of one server (its own registry, so that several servers can live in one process).
 * Appends and reads are counted and timed by the request histogram, labelled by route; beside it, the
 * events written and read, open subscriptions, errors by code, and Node's defaults (event loop lag,
 * memory, GC).
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

const latencyBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

export const createMetrics = () => {
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
    requests: new Histogram({
      name: 'annals_http_request_duration_seconds',
      help: 'HTTP requests by route and status',
      labelNames: ['method', 'route', 'status'],
      buckets: latencyBuckets,
      registers,
    }),
  };
  return metrics;
};

export type Metrics = ReturnType<typeof createMetrics>;
