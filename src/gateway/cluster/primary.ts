/**
 * `--workers N`: the primary of a node:cluster runs no gateway itself. It forks N workers that share the
 * listening socket (the cluster's round-robin is the load balancer), replaces a worker that dies, counts
 * rate limits for all of them (shared-limits.ts) and answers `/metrics` for all of them: it gathers the
 * figures of every worker that listens and sums them with prom-client's `AggregatorRegistry.aggregate`.
 */
import cluster, { type Address, type Worker } from 'node:cluster';
import type { Logger } from 'pino';
import { AggregatorRegistry, Counter, Gauge, Registry } from 'prom-client';
import { connectPeer, type Asker, type Handlers } from './ipc.js';
import { createLimitCounter } from './shared-limits.js';

export interface ClusterOptions {
  workers: number;
  log: Logger;
}

/** A worker that dies sooner than this after it started is replaced only after the same delay, not in a tight loop. */
const quickDeathMs = 1000;

/** How long the primary waits for a worker's figures; a worker still starting is left out of that scrape. */
const workerMetricsTimeoutMs = 2000;

export const runGatewayPrimary = async ({ workers, log }: ClusterOptions) => {
  const own = new Registry();
  /** Each live worker: when it started, the channel to it, and whether it listens yet. */
  const alive = new Map<Worker, { startedAt: number; ask: Asker; listening: boolean }>();
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
      this.set(alive.size);
    },
  });
  const handlers: Handlers = {
    'rate-limit': createLimitCounter(),
    metrics: async () => {
      const answers = await Promise.allSettled(
        [...alive.values()].filter((each) => each.listening).map((each) => each.ask<object>('metrics', null, workerMetricsTimeoutMs)),
      );
      const figures = answers.flatMap((answer) => (answer.status === 'fulfilled' ? [answer.value] : []));
      return `${await AggregatorRegistry.aggregate(figures).metrics()}\n${await own.metrics()}`;
    },
  };

  const fork = () => {
    const worker = cluster.fork();
    alive.set(worker, { startedAt: Date.now(), ask: connectPeer(worker, handlers), listening: false });
    log.info({ pid: worker.process.pid }, 'gateway worker started');
  };

  let stopping = false;
  let listening = 0;
  const ready = new Promise<Address>((resolve, reject) => {
    cluster.on('listening', (worker, address) => {
      alive.get(worker)!.listening = true;
      if (++listening === workers) resolve(address);
    });
    cluster.on('exit', (worker, code, signal) => {
      const lived = Date.now() - (alive.get(worker)?.startedAt ?? 0);
      alive.delete(worker);
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
    await Promise.all(
      [...alive.keys()].map(
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
