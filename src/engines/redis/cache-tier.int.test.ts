/**
 * The projection cache with its Redis tier, against a real Redis: instances of a service sharing entries
 * and invalidations. Each test keeps to a key prefix of its own.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, it } from 'node:test';
import { createProjectionCache, type ProjectionCache, type ProjectionCacheOptions } from '../../projection/cache/cache.js';
import { fakeReadModel, type FakeReadModel } from '../../projection/cache/testing/fake-read-model.js';
import { createRedisCacheTier, type RedisCacheTier, type RedisCacheTierOptions } from './cache-tier.js';
import { dropPrefix, freshPrefix, redisSkipReason, redisTestUrl } from './testing/test-redis.js';

type Row = { total: number };

const skip = await redisSkipReason();

const opened: { close(): Promise<void> }[] = [];
const prefixes: string[] = [];
after(async () => {
  for (const each of opened.reverse()) await each.close();
  for (const prefix of prefixes) await dropPrefix(prefix);
});

const tierOf = async (prefix: string, options: Partial<RedisCacheTierOptions> = {}) => {
  const tier = await createRedisCacheTier({ url: redisTestUrl(), prefix, ...options });
  opened.push(tier);
  return tier;
};

/** An instance of a service: its own connections, a cache of the shared read model, its own load count. */
const instance = async (
  model: FakeReadModel<Row>,
  prefix: string,
  options: Partial<ProjectionCacheOptions<Row>> & { tier?: Partial<RedisCacheTierOptions> } = {},
) => {
  const { tier: tierOptions, ...cacheOptions } = options;
  const tier = await tierOf(prefix, tierOptions);
  const counted = { loads: 0 };
  const cache: ProjectionCache<Row> = createProjectionCache<Row>({
    projection: 'totals',
    version: 1,
    load: (key) => {
      counted.loads += 1;
      return model.load(key);
    },
    position: () => model.readPosition(),
    shared: tier,
    ...cacheOptions,
  });
  opened.push(cache);
  await cache.ready;
  return { cache, tier, counted };
};

const newPrefix = () => {
  const prefix = freshPrefix();
  prefixes.push(prefix);
  return prefix;
};

const eventually = async (check: () => Promise<boolean> | boolean, what: string) => {
  for (let waited = 0; !(await check()); waited += 10) {
    assert.ok(waited < 5000, `never: ${what}`);
    await sleep(10);
  }
};

/** Kills the subscriber connection of a tier (named `name`), as a network fault would. */
const killSubscriber = async (tier: RedisCacheTier, name: string) => {
  const clients = (await tier.client.client('LIST')) as string;
  const line = clients.split('\n').find((each) => each.includes(` name=${name} `) && /\bsub=[1-9]/.test(each));
  assert.ok(line !== undefined, `no subscriber named ${name}`);
  const id = /\bid=(\d+)/.exec(line)![1]!;
  await tier.client.client('KILL', 'ID', id);
};

describe('projection cache on Redis', { skip }, () => {
  it('shares entries: one instance fills, another reads them without loading', async () => {
    const prefix = newPrefix();
    const model = fakeReadModel<Row>({ ada: { total: 1 } });
    const a = await instance(model, prefix);
    const b = await instance(model, prefix);
    assert.deepEqual(await a.cache.get('ada'), { value: { total: 1 }, position: 1n, stale: false });
    assert.deepEqual(await b.cache.get('ada'), { value: { total: 1 }, position: 1n, stale: false });
    assert.equal(a.counted.loads + b.counted.loads, 1);
    assert.equal(JSON.parse((await a.tier.client.get(a.tier.entryKey({ name: 'totals', version: 1, key: 'ada' })))!).p, '1');
  });

  it("drops other instances' local copies when one invalidates", async () => {
    const prefix = newPrefix();
    const model = fakeReadModel<Row>({ ada: { total: 1 }, bob: { total: 5 } });
    const a = await instance(model, prefix);
    const b = await instance(model, prefix);
    await a.cache.get('ada');
    await b.cache.get('ada');
    await b.cache.get('bob');
    await a.cache.onCommit(model.commit({ ada: { total: 2 } }, 'totals', 1));
    await eventually(async () => (await b.cache.get('ada')).value?.total === 2, "B serves ada's new total");
    assert.equal((await b.cache.get('bob')).value?.total, 5);
    assert.equal(model.loadsOf('bob'), 1);
    assert.equal(model.loadsOf('ada'), 2);
  });

  it('refuses a slow fill of one instance below an invalidation made by another', async () => {
    const prefix = newPrefix();
    const model = fakeReadModel<Row>({ ada: { total: 1 } });
    const a = await instance(model, prefix);
    const b = await instance(model, prefix);
    model.hold = true;
    const slow = b.cache.get('ada');
    await sleep(10); // B read position 1 and is loading
    const commit = model.commit({ ada: { total: 2 } }, 'totals', 1);
    model.rows.set('ada', { total: 1 }); // B's load read the row before the commit
    await a.cache.onCommit(commit);
    model.release();
    assert.deepEqual(await slow, { value: { total: 1 }, position: 1n, stale: false });
    model.hold = false;
    model.rows.set('ada', { total: 2 });
    assert.equal(await a.tier.get({ name: 'totals', version: 1, key: 'ada' }), null);
    // A third instance, without a local tier, finds nothing outdated in Redis.
    const c = await instance(model, prefix, { local: false });
    assert.deepEqual(await c.cache.get('ada'), { value: { total: 2 }, position: 2n, stale: false });
    assert.equal(c.counted.loads, 1);
  });

  it('serves stale on every instance while the source is down, and fresh after it returns', async () => {
    const prefix = newPrefix();
    const model = fakeReadModel<Row>({ ada: { total: 1 } });
    const a = await instance(model, prefix);
    const b = await instance(model, prefix);
    await a.cache.get('ada');
    await b.cache.get('ada');

    const since = new Date();
    a.cache.sourceDown(since);
    b.cache.sourceDown(since);
    for (const each of [a, b])
      assert.deepEqual(await each.cache.get('ada'), { value: { total: 1 }, position: 1n, stale: true, staleSince: since });
    a.cache.sourceUp();
    b.cache.sourceUp();

    // The read database goes down after a commit: both serve what they had, stale.
    await a.cache.onCommit(model.commit({ ada: { total: 2 } }, 'totals', 1));
    model.failure = new Error('read database down');
    await eventually(async () => (await b.cache.get('ada')).stale, 'B serves stale');
    for (const each of [a, b]) {
      const got = await each.cache.get('ada');
      assert.equal(got.stale, true);
      assert.deepEqual(got.value, { total: 1 });
    }
    model.failure = undefined;
    for (const each of [a, b]) assert.deepEqual(await each.cache.get('ada'), { value: { total: 2 }, position: 2n, stale: false });
  });

  it('flushes the local tier when the subscriber reconnects, so a missed invalidation is never served', async () => {
    const prefix = newPrefix();
    const model = fakeReadModel<Row>({ ada: { total: 1 } });
    const name = `annals-test-${randomUUID().slice(0, 8)}`;
    const a = await instance(model, prefix);
    const b = await instance(model, prefix, { tier: { redis: { connectionName: name, retryStrategy: () => 300 } } });
    await b.cache.get('ada');
    assert.equal(b.cache.size.entries, 1);
    await killSubscriber(b.tier, name);
    await eventually(() => b.cache.size.entries === 0, 'B drops its local tier');
    // Published while B's subscriber is away: B misses the message.
    await a.cache.onCommit(model.commit({ ada: { total: 2 } }, 'totals', 1));
    await eventually(async () => {
      const clients = (await a.tier.client.client('LIST')) as string;
      return clients.split('\n').some((each) => each.includes(` name=${name} `) && /\bsub=[1-9]/.test(each));
    }, 'B subscribes again');
    assert.deepEqual(await b.cache.get('ada'), { value: { total: 2 }, position: 2n, stale: false });
    await eventually(async () => {
      await b.cache.get('ada');
      return b.cache.size.entries === 1;
    }, 'B fills its local tier again');
  });

  it('flushes every instance when a build becomes active, and an instance opened later follows its version', async () => {
    const prefix = newPrefix();
    const model = fakeReadModel<Row>({ ada: { total: 1 } });
    const a = await instance(model, prefix);
    const b = await instance(model, prefix);
    await a.cache.get('ada');
    await b.cache.get('ada');
    model.rows.set('ada', { total: 7 });
    model.position = 9n;
    await a.cache.onCommit({ name: 'totals', version: 2, build: 2, position: 9n, keys: [], activated: true });
    await eventually(() => b.cache.size.entries === 0, 'B is flushed');
    assert.equal((await b.cache.get('ada')).value?.total, 7);
    assert.equal(await a.tier.get({ name: 'totals', version: 1, key: 'ada' }), null);

    const later = await instance(model, prefix, { version: 1 });
    await later.cache.onCommit(model.commit({ ada: { total: 8 } }, 'totals', 2));
    await eventually(async () => (await b.cache.get('ada')).value?.total === 8, 'B sees the commit of version 2');
  });

  it('reads through to the read model while Redis is unreachable, and reports it', async () => {
    const prefix = newPrefix();
    const model = fakeReadModel<Row>({ ada: { total: 1 } });
    const errors: unknown[] = [];
    const a = await instance(model, prefix, { local: false, onError: (error) => errors.push(error) });
    a.tier.client.disconnect();
    assert.deepEqual(await a.cache.get('ada'), { value: { total: 1 }, position: 1n, stale: false });
    assert.deepEqual(await a.cache.get('ada'), { value: { total: 1 }, position: 1n, stale: false });
    assert.equal(a.counted.loads, 2);
    assert.ok(errors.length >= 2, `${errors.length} errors reported`);
    await a.cache.onCommit(model.commit({ ada: { total: 2 } }, 'totals', 1));
    assert.equal((await a.cache.get('ada')).value?.total, 2);
  });

  it('serves hits from Redis alone (no local tier), stale while the source is down', async () => {
    const prefix = newPrefix();
    const model = fakeReadModel<Row>({ ada: { total: 1 } });
    const a = await instance(model, prefix, { local: false });
    await a.cache.get('ada');
    await a.cache.get('ada');
    assert.equal(a.counted.loads, 1);
    assert.equal(a.cache.size.entries, 0);
    const since = new Date();
    a.cache.sourceDown(since);
    assert.deepEqual(await a.cache.get('ada'), { value: { total: 1 }, position: 1n, stale: true, staleSince: since });
  });
});
