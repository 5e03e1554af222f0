import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { InvalidArgumentError, UnavailableError } from '../../store/errors.js';
import { createProjectionCache, PositionNotReachedError, type ProjectionCacheOptions } from './cache.js';
import { fakeReadModel, type FakeReadModel } from './testing/fake-read-model.js';

type Row = { total: number };

const cacheOf = (model: FakeReadModel<Row>, options: Partial<ProjectionCacheOptions<Row>> = {}) =>
  createProjectionCache<Row>({
    projection: 'totals',
    version: 1,
    load: (key) => model.load(key),
    position: () => model.readPosition(),
    ...options,
  });

/** Lets the loads under way start (they wait on `position()` first). */
const settle = () => sleep(5);

describe('projection cache, in process', () => {
  it('reads through once: later and concurrent gets of a key are served from cache', async () => {
    const model = fakeReadModel<Row>({ ada: { total: 1 } });
    const cache = cacheOf(model);
    const gets = await Promise.all([cache.get('ada'), cache.get('ada'), cache.get('ada')]);
    for (const got of gets) assert.deepEqual(got, { value: { total: 1 }, position: 1n, stale: false });
    assert.deepEqual(await cache.get('ada'), { value: { total: 1 }, position: 1n, stale: false });
    assert.equal(model.loadsOf('ada'), 1);
    // An absent row is cached as absent.
    assert.equal((await cache.get('nobody')).value, undefined);
    assert.equal((await cache.get('nobody')).value, undefined);
    assert.equal(model.loadsOf('nobody'), 1);
  });

  it('is bounded by entries, the least recently used dropped first', async () => {
    const model = fakeReadModel<Row>({ a: { total: 1 }, b: { total: 2 }, c: { total: 3 }, d: { total: 4 } });
    const cache = cacheOf(model, { local: { maxEntries: 3 } });
    for (const key of ['a', 'b', 'c']) await cache.get(key);
    await cache.get('a');
    await cache.get('d');
    assert.equal(cache.size.entries, 3);
    for (const key of ['a', 'c', 'd']) await cache.get(key);
    assert.deepEqual(
      [...'abcd'].map((key) => model.loadsOf(key)),
      [1, 1, 1, 1],
    );
    await cache.get('b');
    assert.equal(model.loadsOf('b'), 2);
  });

  it('is bounded by the JSON bytes of its entries', async () => {
    const big = { total: 1, note: 'x'.repeat(100) };
    const model = fakeReadModel<Row>(Object.fromEntries([...'abcdef'].map((key) => [key, big])));
    const cache = cacheOf(model, { local: { maxEntries: 1000, maxBytes: 400 } });
    for (const key of 'abcdef') await cache.get(key);
    const entryBytes = Buffer.byteLength(`{"p":"1","v":${JSON.stringify(big)}}`);
    assert.equal(cache.size.entries, Math.floor(400 / entryBytes));
    assert.ok(cache.size.bytes <= 400, `${cache.size.bytes} bytes`);
    await cache.get('f');
    await cache.get('a');
    assert.equal(model.loadsOf('f'), 1);
    assert.equal(model.loadsOf('a'), 2);
    // An entry larger than the bound is served, never stored.
    const huge = fakeReadModel<Row>({ h: { total: 1, note: 'y'.repeat(1000) } as Row });
    const small = cacheOf(huge, { local: { maxBytes: 400 } });
    assert.equal((await small.get('h')).value?.total, 1);
    await small.get('h');
    assert.equal(huge.loadsOf('h'), 2);
    assert.equal(small.size.entries, 0);
  });

  it("drops a commit's keys, and no others", async () => {
    const model = fakeReadModel<Row>({ ada: { total: 1 }, bob: { total: 5 } });
    const cache = cacheOf(model);
    await cache.get('ada');
    await cache.get('bob');
    await cache.onCommit(model.commit({ ada: { total: 2 } }, 'totals', 1));
    assert.deepEqual(await cache.get('ada'), { value: { total: 2 }, position: 2n, stale: false });
    assert.deepEqual(await cache.get('bob'), { value: { total: 5 }, position: 1n, stale: false });
    assert.equal(model.loadsOf('ada'), 2);
    assert.equal(model.loadsOf('bob'), 1);
    // Commits of another projection, or of a version that is not served, change nothing.
    model.rows.set('bob', { total: 6 });
    await cache.onCommit({ name: 'other', version: 1, build: 1, position: 3n, keys: ['bob'], activated: false });
    await cache.onCommit({ name: 'totals', version: 2, build: 2, position: 3n, keys: ['bob'], activated: false });
    assert.equal((await cache.get('bob')).value?.total, 5);
  });

  it('returns but does not store a fill read below an invalidation, even one that came during the load', async () => {
    const model = fakeReadModel<Row>({ ada: { total: 1 } });
    const cache = cacheOf(model);
    model.hold = true;
    const racing = cache.get('ada');
    await settle(); // the fill has read position 1 and is loading
    const commit = model.commit({ ada: { total: 2 } }, 'totals', 1);
    model.rows.set('ada', { total: 1 }); // the load read the row before the commit
    await cache.onCommit(commit);
    model.release();
    assert.deepEqual(await racing, { value: { total: 1 }, position: 1n, stale: false });
    model.hold = false;
    model.rows.set('ada', { total: 2 });
    assert.deepEqual(await cache.get('ada'), { value: { total: 2 }, position: 2n, stale: false });
    assert.equal(model.loadsOf('ada'), 2);

    // A read model whose position() lags the invalidation it was told of: served, not stored.
    const lagging = fakeReadModel<Row>({ bob: { total: 1 } });
    const behind = cacheOf(lagging);
    await behind.onCommit({ name: 'totals', version: 1, build: 1, position: 5n, keys: ['bob'], activated: false });
    assert.equal((await behind.get('bob')).position, 1n);
    await behind.get('bob');
    assert.equal(lagging.loadsOf('bob'), 2);
    assert.equal(behind.size.entries, 0);
    lagging.position = 5n;
    await behind.get('bob');
    await behind.get('bob');
    assert.equal(lagging.loadsOf('bob'), 3);
  });

  it('flushes every entry when a build becomes active, and follows its version', async () => {
    const model = fakeReadModel<Row>({ ada: { total: 1 }, bob: { total: 2 } });
    const cache = cacheOf(model);
    await cache.get('ada');
    await cache.get('bob');
    model.position = 7n;
    await cache.onCommit({ name: 'totals', version: 2, build: 2, position: 7n, keys: [], activated: true });
    assert.equal(cache.size.entries, 0);
    await cache.get('ada');
    await cache.get('ada');
    assert.equal(model.loadsOf('ada'), 2);
    // Commits of the new version now count.
    await cache.onCommit(model.commit({ ada: { total: 9 } }, 'totals', 2));
    assert.equal((await cache.get('ada')).value?.total, 9);
    // A switch back to version 1 at the same position (no event between) flushes too.
    await cache.get('ada');
    await cache.onCommit({ name: 'totals', version: 1, build: 3, position: model.position, keys: [], activated: true });
    assert.equal(cache.size.entries, 0);
    await cache.onCommit({ name: 'totals', version: 1, build: 3, position: model.position, keys: [], activated: true });
    await cache.get('ada');
    assert.equal(cache.size.entries, 1);
    await cache.onCommit({ name: 'totals', version: 1, build: 3, position: model.position, keys: [], activated: true });
    assert.equal(cache.size.entries, 1);
    // A fill below the activation is not stored.
    const lagging = fakeReadModel<Row>({ ada: { total: 1 } });
    const behind = cacheOf(lagging);
    await behind.onCommit({ name: 'totals', version: 2, build: 2, position: 7n, keys: [], activated: true });
    await behind.get('ada');
    await behind.get('ada');
    assert.equal(lagging.loadsOf('ada'), 2);
  });

  it('waits for atLeastPosition, through commits or the read model, and times out with an unavailable error', async () => {
    const model = fakeReadModel<Row>({ ada: { total: 1 } });
    const cache = cacheOf(model);
    await cache.get('ada');
    let done = false;
    const waiting = cache.get('ada', { atLeastPosition: 2n }).finally(() => (done = true));
    await settle();
    assert.equal(done, false);
    await cache.onCommit(model.commit({ ada: { total: 2 } }, 'totals', 1));
    assert.deepEqual(await waiting, { value: { total: 2 }, position: 2n, stale: false });

    // Reached through position(), with no commit seen: the cached entry below it is not served.
    const polled = cache.get('ada', { atLeastPosition: 3n });
    await settle();
    model.rows.set('ada', { total: 3 });
    model.position = 3n;
    assert.deepEqual(await polled, { value: { total: 3 }, position: 3n, stale: false });

    // A load under way below the position asked for is not the answer.
    model.hold = true;
    await cache.onCommit(model.commit({ bob: { total: 1 } }, 'totals', 1));
    const under = cache.get('bob');
    await settle();
    model.position = 5n;
    const after = cache.get('bob', { atLeastPosition: 5n });
    await settle();
    model.release();
    await settle();
    model.release();
    assert.equal((await under).position, 4n);
    assert.equal((await after).position, 5n);
    model.hold = false;

    const started = Date.now();
    await assert.rejects(cache.get('ada', { atLeastPosition: 10n, timeoutMs: 60 }), (error) => {
      assert.ok(error instanceof PositionNotReachedError && error instanceof UnavailableError);
      assert.equal(error.code, 'unavailable');
      assert.equal(error.reached, 5n);
      assert.match(error.message, /position 10 within 60 ms \(it is at 5\)/);
      return true;
    });
    assert.ok(Date.now() - started >= 55);
  });

  it('serves the last entry stale while the loader fails, fresh once it works, and nothing past maxStaleSeconds', async () => {
    const model = fakeReadModel<Row>({ ada: { total: 1 } });
    const cache = cacheOf(model, { maxStaleSeconds: 0.5 });
    await cache.get('ada');
    await cache.onCommit(model.commit({ ada: { total: 2 } }, 'totals', 1));
    model.failure = new Error('read database down');
    const before = Date.now();
    const first = await cache.get('ada');
    assert.equal(first.stale, true);
    assert.deepEqual({ value: first.value, position: first.position }, { value: { total: 1 }, position: 1n });
    const since = first.stale ? first.staleSince : undefined;
    assert.ok(since !== undefined && since.getTime() >= before - 1 && since.getTime() <= Date.now());
    const again = await cache.get('ada');
    assert.equal(again.stale && again.staleSince, since);
    // Nothing cached: the loader's error.
    await assert.rejects(cache.get('bob'), /read database down/);

    model.failure = undefined;
    assert.deepEqual(await cache.get('ada'), { value: { total: 2 }, position: 2n, stale: false });

    // A hit needs no loader; once a load has failed, every get tries it first and serves stale meanwhile.
    model.failure = new Error('read database down');
    assert.equal((await cache.get('ada')).stale, false);
    await assert.rejects(cache.get('bob'), /read database down/);
    assert.equal((await cache.get('ada')).stale, true);
    await sleep(550);
    await assert.rejects(cache.get('ada'), /read database down/);
  });

  it('serves stale while told the source is down, without loading, and fresh after sourceUp', async () => {
    const model = fakeReadModel<Row>({ ada: { total: 1 } });
    const cache = cacheOf(model, { maxStaleSeconds: 60 });
    await cache.get('ada');
    const since = new Date(Date.now() - 5000);
    cache.sourceDown(since);
    assert.deepEqual(await cache.get('ada'), { value: { total: 1 }, position: 1n, stale: true, staleSince: since });
    assert.equal(model.loadsOf('ada'), 1);
    model.failure = new Error('read database down');
    await assert.rejects(cache.get('bob'), /read database down/);
    model.failure = undefined;
    cache.sourceUp();
    await cache.onCommit(model.commit({ ada: { total: 2 } }, 'totals', 1));
    assert.deepEqual(await cache.get('ada'), { value: { total: 2 }, position: 2n, stale: false });

    cache.sourceDown(new Date(Date.now() - 61_000));
    await assert.rejects(
      cache.get('ada'),
      (error) => error instanceof UnavailableError && /longer than maxStaleSeconds/.test(error.message),
    );
    cache.sourceUp();
    assert.equal((await cache.get('ada')).stale, false);
  });

  it('folds the invalidations it cannot remember into one floor, so none is forgotten', async () => {
    const model = fakeReadModel<Row>({ a: { total: 1 }, b: { total: 1 }, c: { total: 1 } });
    const cache = cacheOf(model, { maxInvalidations: 2 });
    for (const [key, position] of [
      ['a', 4n],
      ['b', 5n],
      ['c', 6n],
    ] as const) {
      await cache.onCommit({ name: 'totals', version: 1, build: 1, position, keys: [key], activated: false });
    }
    model.position = 3n; // below every invalidation: served, never stored
    for (const key of 'abc') await cache.get(key);
    assert.equal(cache.size.entries, 0);
    model.position = 4n; // 'a' was folded into the floor (4): stored now; 'b' and 'c' are remembered
    for (const key of 'abc') await cache.get(key);
    assert.equal(cache.size.entries, 1);
  });

  it('refuses bad options with what is allowed', () => {
    const model = fakeReadModel<Row>();
    assert.throws(() => cacheOf(model, { local: { maxEntries: 0 } }), InvalidArgumentError);
    assert.throws(() => cacheOf(model, { version: 0 }), /version is 0; allowed: a positive integer/);
    assert.throws(() => cacheOf(model, { ttl: 3 } as never), /unknown option 'ttl'/);
  });

  it('counts outcomes for metrics', async () => {
    const model = fakeReadModel<Row>({ ada: { total: 1 } });
    const outcomes: string[] = [];
    const cache = cacheOf(model, { observe: (outcome) => outcomes.push(outcome) });
    await cache.get('ada');
    await cache.get('ada');
    cache.sourceDown();
    await cache.get('ada');
    assert.deepEqual(outcomes, ['miss', 'hit', 'stale']);
  });
});
