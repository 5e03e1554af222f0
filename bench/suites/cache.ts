/**
 * The projection cache (DESIGN.md section 9, "Cache"): a hit in process beside a bare lru-cache get, and a
 * hit through Redis (no local tier) beside a raw ioredis GET of the same key, each as microseconds per get,
 * one get after the other. The Redis figures need a Redis server (`ANNALS_REDIS_URL`, or the local one).
 */
import { LRUCache } from 'lru-cache';
import { createRedisCacheTier } from '../../src/engines/redis/cache-tier.js';
import { dropPrefix, freshPrefix, redisSkipReason, redisTestUrl } from '../../src/engines/redis/testing/test-redis.js';
import { createProjectionCache } from '../../src/projection/cache/cache.js';
import { timed, type BenchSuite, type Measurement } from '../harness.js';
import { eventData, scaled } from '../workload.js';

const keys = 1000;
const keyOf = (index: number) => `customer-${index % keys}`;
const rows = new Map(Array.from({ length: keys }, (_, index) => [keyOf(index), eventData(index)]));
const source = {
  load: async (key: string) => rows.get(key),
  position: async () => 1n,
};

/** Microseconds per call of `get`, over `count` calls one after the other, after a warm-up of a tenth. */
const perGet = async (count: number, get: (key: string) => unknown) => {
  for (let index = 0; index < count / 10; index++) await get(keyOf(index));
  const ms = await timed(async () => {
    for (let index = 0; index < count; index++) await get(keyOf(index));
  });
  return (ms * 1000) / count;
};

/** The same for a synchronous `get`, with no await between calls. */
const perSyncGet = async (count: number, get: (key: string) => unknown) => {
  for (let index = 0; index < Math.max(keys, count / 10); index++) get(keyOf(index));
  const ms = await timed(() => {
    for (let index = 0; index < count; index++) get(keyOf(index));
  });
  return (ms * 1000) / count;
};

const inProcess = async (count: number): Promise<Measurement> => {
  const cache = createProjectionCache({ projection: 'totals', version: 1, ...source });
  const bare = new LRUCache<string, object>({ max: 10_000 });
  for (const [key, row] of rows) bare.set(key, row);
  const cached = await perGet(count, (key) => cache.get(key));
  const limit = await perSyncGet(count, (key) => bare.get(key));
  await cache.close();
  return {
    name: 'cache hit in process (await get)',
    unit: 'µs',
    value: cached,
    limit: { name: 'a bare lru-cache get of the same key', value: limit },
    target: '<= 5',
    details: { gets: count, keys },
  };
};

const throughRedis = async (count: number): Promise<Measurement> => {
  const prefix = freshPrefix();
  const tier = await createRedisCacheTier({ url: redisTestUrl(), prefix });
  const cache = createProjectionCache({ projection: 'totals', version: 1, ...source, local: false, shared: tier });
  try {
    await cache.ready;
    for (let index = 0; index < keys; index++) await cache.get(keyOf(index));
    const entryKeys = Array.from({ length: keys }, (_, index) => tier.entryKey({ name: 'totals', version: 1, key: keyOf(index) }));
    const byKey = new Map(entryKeys.map((entryKey, index) => [keyOf(index), entryKey]));
    // Alternated in short rounds, so that both see the same machine (loopback round trips are noisy).
    const rounds = 10;
    let cached = 0;
    let limit = 0;
    let parsed = 0;
    for (let round = 0; round < rounds; round++) {
      cached += await perGet(count / rounds, (key) => cache.get(key));
      limit += await perGet(count / rounds, (key) => tier.client.get(byKey.get(key)!));
      parsed += await perGet(count / rounds, (key) => tier.client.get(byKey.get(key)!).then((text) => JSON.parse(text!) as unknown));
    }
    return {
      name: 'cache hit through Redis (no local tier)',
      unit: 'µs',
      value: cached / rounds,
      limit: { name: 'a raw ioredis GET of the same key, one after the other', value: limit / rounds },
      target: '<= 1.2x limit',
      // A raw GET returns a string; the value needs a JSON.parse too, which is most of what the cache adds.
      details: { gets: count, keys, 'raw GET and JSON.parse, µs': Number((parsed / rounds).toFixed(2)) },
    };
  } finally {
    await cache.close();
    await tier.close();
    await dropPrefix(prefix);
  }
};

export const suite: BenchSuite = {
  name: 'cache',
  async run(context) {
    context.progress('hits in process');
    const measurements = [await inProcess(scaled(context, 2_000_000, 20_000))];
    const skipped = await redisSkipReason();
    if (skipped !== undefined) {
      context.progress(`no Redis figures: ${skipped}`);
      return measurements;
    }
    context.progress('hits through Redis');
    measurements.push(await throughRedis(scaled(context, 100_000, 2000)));
    return measurements;
  },
};
