/**
 * Active health checks: a GET of each instance's health path every interval, with a time bound. A 2xx puts
 * an instance back; anything else (or no answer in time) takes it out. Where the route names a writable
 * path (an Annals server's `/health/writable`), a GET of it says whether the instance takes writes.
 */
import { request } from 'undici';
import type { Pool } from './pool.js';

export interface HealthOptions {
  path: string;
  intervalMs: number;
  timeoutMs: number;
}

export const defaultHealth: HealthOptions = { path: '/health/ready', intervalMs: 2000, timeoutMs: 1000 };

/** The status a GET of `url` answers within `timeoutMs`. */
const statusOf = async (url: string, timeoutMs: number) => {
  const response = await request(url, { method: 'GET', signal: AbortSignal.timeout(timeoutMs) });
  await response.body.dump();
  return response.statusCode;
};

const is2xx = (status: number) => status >= 200 && status < 300;

const check = async (pool: Pool, url: string, { path, timeoutMs }: HealthOptions) => {
  try {
    const status = await statusOf(`${url}${path}`, timeoutMs);
    if (!is2xx(status)) return pool.markDown(url, `health check answered ${status}`);
    if (pool.writablePath !== undefined) pool.markWritable(url, is2xx(await statusOf(`${url}${pool.writablePath}`, timeoutMs)));
    pool.markUp(url);
  } catch (error) {
    pool.markDown(url, `health check failed: ${(error as Error).message}`);
  }
};

/** Checks every instance of the pools now and every interval; returns the function that stops it. */
export const startHealthChecks = (pools: Pool[], options: HealthOptions): (() => void) => {
  let running = false;
  const round = async () => {
    if (running) return;
    running = true;
    try {
      await Promise.all(pools.flatMap((pool) => pool.instances.map((instance) => check(pool, instance.url, options))));
    } finally {
      running = false;
    }
  };
  void round();
  const timer = setInterval(() => void round(), options.intervalMs);
  timer.unref();
  return () => clearInterval(timer);
};
