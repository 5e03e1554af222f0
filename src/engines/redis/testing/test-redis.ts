/**
 * The Redis that tests run against: the local server, or `ANNALS_REDIS_URL`. Tests keep to keys under a
 * prefix of their own (`freshPrefix`), so parallel runs never collide. When the server is unreachable the
 * tests skip with a loud warning, except in CI (`CI=true`), where they fail.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';

export const redisTestUrl = (): string => process.env.ANNALS_REDIS_URL ?? 'redis://127.0.0.1:6379';

let probe: Promise<string | undefined> | undefined;

const reach = async (): Promise<string | undefined> => {
  const client = new Redis(redisTestUrl(), { lazyConnect: true, connectTimeout: 3000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  let cause: unknown;
  client.on('error', (error) => (cause ??= error));
  try {
    await client.connect();
    await client.ping();
    return undefined;
  } catch (error) {
    const reported = cause ?? error;
    return reported instanceof Error ? reported.message || reported.name : String(reported);
  } finally {
    client.disconnect();
  }
};

/** Why Redis tests cannot run here, or undefined when they can. Throws in CI when unreachable. */
export const redisSkipReason = async (): Promise<string | undefined> => {
  probe ??= reach();
  const failure = await probe;
  if (failure === undefined) return undefined;
  const reason = `Redis is unreachable at ${redisTestUrl()} (${failure}); set ANNALS_REDIS_URL to run these tests`;
  if (process.env.CI === 'true') throw new Error(`${reason}. CI requires Redis.`);
  console.warn(`\n!!! SKIPPING Redis tests: ${reason} !!!\n`);
  return reason;
};

/** A key prefix no other test uses. */
export const freshPrefix = (): string => `annals-test:${randomUUID().slice(0, 12)}:`;

/** Removes every key under the prefix. */
export const dropPrefix = async (prefix: string): Promise<void> => {
  const client = new Redis(redisTestUrl());
  client.on('error', () => undefined);
  try {
    const stream = client.scanStream({ match: `${prefix}*`, count: 1000 });
    for await (const keys of stream as AsyncIterable<string[]>) if (keys.length > 0) await client.unlink(...keys);
  } finally {
    client.disconnect();
  }
};
