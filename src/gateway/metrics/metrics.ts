/**
 * Prometheus metrics of one gateway, in a registry of its own: requests by route, status and upstream,
 * upstream health, and requests refused for want of an upstream. Under `--workers`, the primary sums the
 * workers' figures, except upstream health: an instance counts as healthy only if every worker finds it so.
 */
import { AggregatorRegistry, collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

const latencyBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10];

/** `inCluster`: this registry is the one the worker reports to the primary's aggregation. */
export const createGatewayMetrics = (inCluster = false) => {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  if (inCluster) {
    // prom-client answers the primary's aggregation only in a worker that has made an AggregatorRegistry.
    new AggregatorRegistry();
    AggregatorRegistry.setRegistries([registry]);
  }
  const registers = [registry];
  return {
    registry,
    requests: new Histogram({
      name: 'annals_gateway_request_duration_seconds',
      help: 'Requests through the gateway by route prefix, status and upstream instance (none when no upstream answered)',
      labelNames: ['route', 'status', 'upstream'],
      buckets: latencyBuckets,
      registers,
    }),
    upstreamHealthy: new Gauge({
      name: 'annals_gateway_upstream_healthy',
      help: 'Whether each upstream instance is in rotation: 1 healthy, 0 taken out',
      labelNames: ['route', 'upstream'],
      aggregator: 'min',
      registers,
    }),
    refused: new Counter({
      name: 'annals_gateway_refused_total',
      help: 'Requests answered 503 for want of an upstream, by route and reason: unhealthy, read-only, saturated (load shed), overloaded (the gateway itself)',
      labelNames: ['route', 'reason'],
      registers,
    }),
  };
};

export type GatewayMetrics = ReturnType<typeof createGatewayMetrics>;
