/**
 * Rate limits shared by the workers of one gateway without Redis: the primary keeps the counts (a fixed
 * window per key, as @fastify/rate-limit's own stores count) and each worker's limiter asks it over IPC.
 */
import type { FastifyRateLimitStore, FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import { LRUCache } from 'lru-cache';
import type { Asker } from './ipc.js';

export interface CountRequest {
  key: string;
  windowMs: number;
}

export interface Count {
  current: number;
  ttl: number;
}

/** In the primary: counts requests per key in fixed windows; the oldest keys go beyond `maxKeys`. */
export const createLimitCounter = (maxKeys = 100_000) => {
  const windows = new LRUCache<string, { current: number; startMs: number }>({ max: maxKeys });
  return ({ key, windowMs }: CountRequest): Count => {
    const now = Date.now();
    const window = windows.get(key);
    if (window === undefined || window.startMs + windowMs <= now) {
      windows.set(key, { current: 1, startMs: now });
      return { current: 1, ttl: windowMs };
    }
    window.current++;
    return { current: window.current, ttl: window.startMs + windowMs - now };
  };
};

/** In a worker: a store for @fastify/rate-limit that counts in the primary, keys under `namespace`. */
export const clusterLimitStore = (ask: Asker, namespace: string): FastifyRateLimitStoreCtor =>
  class ClusterLimitStore implements FastifyRateLimitStore {
    incr(key: string, callback: (error: Error | null, result?: Count) => void, timeWindow: number) {
      ask<Count>('rate-limit', { key: `${namespace}${key}`, windowMs: timeWindow } satisfies CountRequest).then(
        (count) => callback(null, count),
        (error: Error) => callback(error),
      );
    }
    child() {
      return this;
    }
  };
