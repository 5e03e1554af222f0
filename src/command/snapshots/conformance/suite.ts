/**
 * The snapshot store's contract (DESIGN.md section 8), run on every engine and through the client on each:
 * one snapshot per (stream, schemaVersion), never replaced by a lower revision, refused for revisions the
 * stream does not hold, and gone with a deleted stream.
 */
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { event, events, rejectsWith, storeTest } from '../../../store/conformance/harness.js';
import type { EventStore } from '../../../store/event-store.js';

export const describeSnapshotConformance = (name: string, open: () => Promise<EventStore>): void => {
  const test = storeTest(open);

  describe(`snapshot conformance: ${name}`, () => {
    test('a stream without snapshots reads as undefined', async (store) => {
      assert.equal(await store.snapshots.read('none'), undefined);
      await store.append('plain', events(2));
      assert.equal(await store.snapshots.read('plain', { schemaVersion: 1 }), undefined);
    });

    test('reads back what was written, with when', async (store) => {
      await store.append('account-1', events(5));
      const before = Date.now();
      assert.deepEqual(await store.snapshots.write('account-1', { revision: 3, schemaVersion: 1, state: { balance: 30, tags: ['a'] } }), {
        written: true,
      });
      const snapshot = await store.snapshots.read('account-1', { schemaVersion: 1 });
      assert.ok(snapshot !== undefined);
      const { recordedAt, ...rest } = snapshot;
      assert.deepEqual(rest, { stream: 'account-1', revision: 3, schemaVersion: 1, state: { balance: 30, tags: ['a'] } });
      assert.ok(recordedAt instanceof Date && recordedAt.getTime() >= before - 1000 && recordedAt.getTime() <= Date.now() + 1000);
    });

    test('keeps one per schemaVersion; without one, reads the highest revision', async (store) => {
      await store.append('account-2', events(6));
      await store.snapshots.write('account-2', { revision: 4, schemaVersion: 1, state: 'v1' });
      await store.snapshots.write('account-2', { revision: 2, schemaVersion: 2, state: 'v2' });
      assert.equal((await store.snapshots.read('account-2'))?.state, 'v1');
      assert.equal((await store.snapshots.read('account-2', { schemaVersion: 2 }))?.state, 'v2');
      await store.snapshots.write('account-2', { revision: 5, schemaVersion: 2, state: 'v2 later' });
      assert.equal((await store.snapshots.read('account-2'))?.state, 'v2 later');
      assert.equal((await store.snapshots.read('account-2', { schemaVersion: 1 }))?.revision, 4);
      assert.equal(await store.snapshots.read('account-2', { schemaVersion: 3 }), undefined);
    });

    test('a write never replaces a higher revision; the same revision is replaced', async (store) => {
      await store.append('account-3', events(5));
      await store.snapshots.write('account-3', { revision: 3, schemaVersion: 1, state: 'three' });
      assert.deepEqual(await store.snapshots.write('account-3', { revision: 1, schemaVersion: 1, state: 'one' }), { written: false });
      assert.equal((await store.snapshots.read('account-3'))?.state, 'three');
      assert.deepEqual(await store.snapshots.write('account-3', { revision: 3, schemaVersion: 1, state: 'three again' }), {
        written: true,
      });
      assert.equal((await store.snapshots.read('account-3'))?.state, 'three again');
    });

    test('refuses a revision the stream does not hold, and writes nothing', async (store) => {
      await store.append('account-4', events(3));
      const above = await rejectsWith(store.snapshots.write('account-4', { revision: 3, schemaVersion: 1, state: {} }), 'invalid_argument');
      assert.match(above.message, /revision is 3; allowed: .* 0 to 2/);
      await rejectsWith(store.snapshots.write('never-written', { revision: 0, schemaVersion: 1, state: {} }), 'invalid_argument');
      assert.equal(await store.snapshots.read('account-4'), undefined);
      await store.append('gone', events(2));
      await store.tombstoneStream('gone');
      await rejectsWith(store.snapshots.write('gone', { revision: 1, schemaVersion: 1, state: {} }), 'stream_deleted');
    });

    test('a soft delete takes the snapshots with it, and the new history refuses revisions of the old', async (store) => {
      await store.append('account-5', events(4));
      await store.snapshots.write('account-5', { revision: 3, schemaVersion: 1, state: 'old' });
      await store.snapshots.write('account-5', { revision: 2, schemaVersion: 2, state: 'old too' });
      await store.deleteStream('account-5');
      assert.equal(await store.snapshots.read('account-5'), undefined);
      assert.equal(await store.snapshots.read('account-5', { schemaVersion: 2 }), undefined);
      await rejectsWith(store.snapshots.write('account-5', { revision: 3, schemaVersion: 1, state: 'old' }), 'invalid_argument');
      await store.append('account-5', [event('Reopened')]);
      await rejectsWith(store.snapshots.write('account-5', { revision: 3, schemaVersion: 1, state: 'old' }), 'invalid_argument');
      assert.deepEqual(await store.snapshots.write('account-5', { revision: 4, schemaVersion: 1, state: 'new' }), { written: true });
      await store.tombstoneStream('account-5');
      assert.equal(await store.snapshots.read('account-5'), undefined);
    });

    test('deletes one schemaVersion or all', async (store) => {
      await store.append('account-6', events(3));
      await store.snapshots.write('account-6', { revision: 1, schemaVersion: 1, state: 1 });
      await store.snapshots.write('account-6', { revision: 2, schemaVersion: 2, state: 2 });
      await store.snapshots.delete('account-6', { schemaVersion: 2 });
      assert.equal((await store.snapshots.read('account-6'))?.schemaVersion, 1);
      await store.snapshots.delete('account-6');
      assert.equal(await store.snapshots.read('account-6'), undefined);
      await store.snapshots.delete('account-6');
      assert.equal((await store.readStream('account-6')).length, 3, 'the events stay');
    });

    test('refuses bad arguments by name, and writes nothing', async (store) => {
      await store.append('account-7', events(2));
      const write = (snapshot: unknown) => store.snapshots.write('account-7', snapshot as never);
      assert.match((await rejectsWith(write({ revision: -1, schemaVersion: 1, state: {} }), 'invalid_argument')).message, /revision/);
      assert.match((await rejectsWith(write({ revision: 1, schemaVersion: 1.5, state: {} }), 'invalid_argument')).message, /schemaVersion/);
      assert.match((await rejectsWith(write({ revision: 1, schemaVersion: 1 }), 'invalid_argument')).message, /state/);
      assert.match(
        (await rejectsWith(write({ revision: 1, schemaVersion: 1, state: { at: new Date() } }), 'invalid_argument')).message,
        /state\.at/,
      );
      assert.match((await rejectsWith(write({ revision: 1, schemaVersion: 1, state: 1, extra: 1 }), 'invalid_argument')).message, /extra/);
      await rejectsWith(store.snapshots.read('account-7', { schemaVersion: -1 }), 'invalid_argument');
      await rejectsWith(store.snapshots.delete('account-7', { schemaVersion: 'x' as never }), 'invalid_argument');
      await rejectsWith(store.snapshots.write('$system', { revision: 0, schemaVersion: 1, state: 1 }), 'invalid_argument');
      assert.equal(await store.snapshots.read('account-7'), undefined);
    });
  });
};
