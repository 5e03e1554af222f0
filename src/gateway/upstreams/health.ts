/**
 * Active health checks: a GET of each instance's health path every interval, with a time bound. A 2xx puts
 * an instance back; anything else (or no answer in time) takes it out.
 */
import { request } from 'undici';
import type { Pool } from './pool.js';

export interface HealthOptions {
  path: string;
  intervalMs: number;
  timeoutMs: number;
}

export const defaultHealth: HealthOptions = { path: '/health/ready', intervalMs: 2000, timeoutMs: 1000 };

const check = async (pool: Pool, url: string, { path, timeoutMs }: HealthOptions) => {
  try {
    const response = await request(`${url}${path}`, { method: 'GET', signal: AbortSignal.timeout(timeoutMs) });
    await response.body.dump();
    if (response.statusCode >= 200 && response.statusCode < 300) pool.markUp(url);
    else pool.markDown(url, `health check answered ${response.statusCode}`);
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
