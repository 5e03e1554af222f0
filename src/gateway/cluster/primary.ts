/**
 * `--workers N`: the primary of a node:cluster runs no gateway itself. It forks N workers that share the
 * listening socket (the cluster's round-robin is the load balancer), replaces a worker that dies, counts
 * rate limits for all of them (shared-limits.ts) and answers `/metrics` for all of them, aggregated with
 * prom-client's AggregatorRegistry.
 */
import cluster, { type Address, type Worker } from 'node:cluster';
import type { Logger } from 'pino';
import { AggregatorRegistry, Counter, Gauge, Registry } from 'prom-client';
import { answerWorker, type Handlers } from './ipc.js';
import { createLimitCounter } from './shared-limits.js';

export interface ClusterOptions {
  workers: number;
  log: Logger;
}

/** A worker that dies sooner than this after it started is replaced only after the same delay, not in a tight loop. */
const quickDeathMs = 1000;

export const runGatewayPrimary = async ({ workers, log }: ClusterOptions) => {
  const aggregator = new AggregatorRegistry();
  const own = new Registry();
  const restarts = new Counter({
    name: 'annals_gateway_worker_restarts_total',
    help: 'Gateway workers that died and were replaced',
    registers: [own],
  });
  new Gauge({
    name: 'annals_gateway_workers',
    help: 'Gateway worker processes alive',
    registers: [own],
    collect() {
      this.set(Object.keys(cluster.workers ?? {}).length);
    },
  });
  const handlers: Handlers = {
    'rate-limit': createLimitCounter(),
    metrics: async () => `${await aggregator.clusterMetrics()}\n${await own.metrics()}`,
  };

  const startedAt = new Map<Worker, number>();
  const fork = () => {
    const worker = cluster.fork();
    startedAt.set(worker, Date.now());
    answerWorker(worker, handlers);
    log.info({ pid: worker.process.pid }, 'gateway worker started');
  };

  let stopping = false;
  let listening = 0;
  const ready = new Promise<Address>((resolve, reject) => {
    cluster.on('listening', (_worker, address) => {
      if (++listening === workers) resolve(address);
    });
    cluster.on('exit', (worker, code, signal) => {
      const lived = Date.now() - (startedAt.get(worker) ?? 0);
      startedAt.delete(worker);
      if (stopping) return;
      if (listening < workers) {
        reject(new Error(`a gateway worker exited (code ${code}, signal ${signal}) before every worker listened; its log says why`));
        return;
      }
      restarts.inc();
      log.warn({ pid: worker.process.pid, code, signal }, 'gateway worker died; starting another');
      setTimeout(fork, lived < quickDeathMs ? quickDeathMs : 0);
    });
  });

  /** Workers finish what they have in flight (they close on SIGTERM), then the primary is done. */
  const stop = async () => {
    stopping = true;
    const alive = Object.values(cluster.workers ?? {}).filter((worker) => worker !== undefined);
    await Promise.all(
      alive.map(
        (worker) =>
          new Promise<void>((resolve) => {
            worker.once('exit', () => resolve());
            worker.process.kill('SIGTERM');
          }),
      ),
    );
  };

  for (let index = 0; index < workers; index++) fork();
  try {
    return { address: await ready, stop };
  } catch (error) {
    await stop();
    throw error;
  }
};
