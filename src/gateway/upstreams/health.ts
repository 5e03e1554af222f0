/**
 * Active health checks: a GET of each instance's health path every interval, with a time bound. A 2xx puts
 * an instance back; anything else (or no answer in time) `unhealthyAfter` checks in a row takes it out, as
 * HAProxy's `fall` does: one slow answer from a busy machine is not an outage. Where the route names a
 * writable path (an Annals server's `/health/writable`), a GET of it says whether the instance takes writes.
 */
import { request } from 'undici';
import type { Pool } from './pool.js';

export interface HealthOptions {
  path: string;
  intervalMs: number;
  timeoutMs: number;
  /** Failed checks in a row that take an instance out. */
  unhealthyAfter: number;
}

export const defaultHealth: HealthOptions = { path: '/health/ready', intervalMs: 2000, timeoutMs: 1000, unhealthyAfter: 2 };

/** The status a GET of `url` answers within `timeoutMs`. */
const statusOf = async (url: string, timeoutMs: number) => {
  const response = await request(url, { method: 'GET', signal: AbortSignal.timeout(timeoutMs) });
  await response.body.dump();
  return response.statusCode;
};

const is2xx = (status: number) => status >= 200 && status < 300;

/** Checks one instance; `failures` counts each instance's failed checks in a row. */
const check = async (pool: Pool, url: string, { path, timeoutMs, unhealthyAfter }: HealthOptions, failures: Map<string, number>) => {
  const failed = (reason: string) => {
    const count = (failures.get(url) ?? 0) + 1;
    failures.set(url, count);
    if (count >= unhealthyAfter) pool.markDown(url, reason);
  };
  try {
    const status = await statusOf(`${url}${path}`, timeoutMs);
    if (!is2xx(status)) return failed(`health check answered ${status}`);
    if (pool.writablePath !== undefined) pool.markWritable(url, is2xx(await statusOf(`${url}${pool.writablePath}`, timeoutMs)));
    failures.delete(url);
    pool.markUp(url);
  } catch (error) {
    failed(`health check failed: ${(error as Error).message}`);
  }
};

/** Checks every instance of the pools now and every interval; returns the function that stops it. */
export const startHealthChecks = (pools: Pool[], options: HealthOptions): (() => void) => {
  let running = false;
  const failures = new Map<string, number>();
  const round = async () => {
    if (running) return;
    running = true;
    try {
      await Promise.all(pools.flatMap((pool) => pool.instances.map((instance) => check(pool, instance.url, options, failures))));
    } finally {
      running = false;
    }
  };
  void round();
  const timer = setInterval(() => void round(), options.intervalMs);
  timer.unref();
  return () => clearInterval(timer);
};
