import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createMemoryEngine } from '../engines/memory/engine.js';
import { events } from './conformance/harness.js';
import { createEventStore } from './create-store.js';
import type { EventStore } from './event-store.js';
import { followStore, type Follower } from './follow-store.js';
import { until } from '../testing/until.js';

const everything = { filter: { includeSystem: true } };
const memoryStore = () => createEventStore(createMemoryEngine());

const level = async (follower: Follower, primary: EventStore) => {
  const head = (await primary.stats()).headPosition;
  await until(() => follower.status().appliedPosition === head && follower.status().live, `the replica to reach ${head}`);
};

/** A replica that has followed `primary` until level with it, then stopped: as after a restart. */
const followedOnce = async (primary: EventStore, replica: EventStore) => {
  const follower = followStore({ source: primary, target: replica });
  await level(follower, primary);
  await follower.stop();
};

describe('following a primary', () => {
  it('copies the whole log keeping positions and identity, then follows it live', async () => {
    const primary = memoryStore();
    const replica = memoryStore();
    await primary.append('order-1', events(3));
    await primary.setMetadata('order-1', { maxCount: 2 });
    await primary.append('cart-1', events(2));
    await primary.deleteStream('cart-1');
    const follower = followStore({ source: primary, target: replica, batchSize: 2 });
    try {
      await level(follower, primary);
      await primary.append('order-2', events(2));
      await primary.tombstoneStream('order-2');
      await level(follower, primary);
      assert.deepEqual(await replica.readAll(everything), await primary.readAll(everything));
      assert.deepEqual(await replica.readStream('order-1'), await primary.readStream('order-1'));
      assert.deepEqual(await replica.getMetadata('order-1'), { maxCount: 2 });
      await assert.rejects(replica.readStream('order-2'), { code: 'stream_deleted' });
      const [a, b] = [await primary.stats(), await replica.stats()];
      assert.deepEqual([b.storeId, b.epoch, b.headPosition], [a.storeId, a.epoch, a.headPosition]);
      assert.equal(follower.status().lagSeconds, 0);
    } finally {
      await follower.stop();
    }
  });

  it('resumes from its own head after a restart', async () => {
    const primary = memoryStore();
    const replica = memoryStore();
    await primary.append('order-1', events(2));
    await followedOnce(primary, replica);
    await primary.append('order-1', events(3));
    const second = followStore({ source: primary, target: replica });
    try {
      await level(second, primary);
      assert.deepEqual(await replica.readAll(everything), await primary.readAll(everything));
    } finally {
      await second.stop();
    }
  });

  it('stops with a conflict, writing nothing, when the primary is another epoch', async () => {
    const primary = memoryStore();
    const replica = memoryStore();
    await primary.append('order-1', events(2));
    await followedOnce(primary, replica);
    await primary.startEpoch();
    await primary.append('order-1', events(1));
    const errors: [string, boolean][] = [];
    const second = followStore({ source: primary, target: replica, onError: (error, stopped) => errors.push([String(error), stopped]) });
    try {
      await until(() => second.status().stopped !== undefined, 'the follower to stop');
      assert.match(second.status().stopped!, /epoch 1.*epoch 2/);
      assert.deepEqual(
        errors.map(([, stopped]) => stopped),
        [true],
      );
      assert.equal((await replica.stats()).events, 2);
    } finally {
      await second.stop();
    }
  });

  it('reports its lag while it has events to write', async () => {
    const primary = memoryStore();
    const replica = memoryStore();
    await primary.append('order-1', events(1));
    const follower = followStore({ source: primary, target: replica });
    try {
      assert.ok(follower.status().lagSeconds >= 0);
      assert.equal(follower.status().live, false);
      await level(follower, primary);
      assert.equal(follower.status().lagSeconds, 0);
    } finally {
      await follower.stop();
    }
  });
});
