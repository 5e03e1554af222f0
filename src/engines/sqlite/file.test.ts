import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { rejectsWith, events } from '../../store/conformance/harness.js';
import { openEventStore } from '../open.js';
import { schemaVersion } from './migrations.js';

const dir = mkdtempSync(join(tmpdir(), 'annals-sqlite-file-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let count = 0;
const freshPath = () => join(dir, `nested-${++count}`, 'annals.db');

describe('sqlite engine: the database file', () => {
  it('is private whatever the umask: a new data folder 0700, the file and its write-ahead log 0600', async () => {
    const before = process.umask(0o022);
    try {
      const path = join(dir, `private-${++count}`, 'deeper', 'annals.db');
      const store = await openEventStore({ engine: 'sqlite', path });
      await store.append('order-1', events(1));
      const modeOf = (file: string) => statSync(file).mode & 0o777;
      assert.equal(modeOf(dirname(path)), 0o700);
      assert.equal(modeOf(dirname(dirname(path))), 0o700);
      assert.equal(modeOf(path), 0o600);
      assert.equal(modeOf(`${path}-wal`), 0o600);
      await store.close();
    } finally {
      process.umask(before);
    }
  });

  it('keeps events, stream state and metadata across reopening', async () => {
    const path = freshPath();
    const first = await openEventStore({ engine: 'sqlite', path });
    await first.append('order-1', events(3));
    await first.setMetadata('order-1', { custom: { owner: 'a' } });
    await first.tombstoneStream('gone-1');
    await first.close();

    const second = await openEventStore({ engine: 'sqlite', path });
    assert.deepEqual(
      (await second.readStream('order-1')).map((e) => e.revision),
      [0, 1, 2],
    );
    assert.deepEqual(await second.getMetadata('order-1'), { custom: { owner: 'a' } });
    await rejectsWith(second.append('gone-1', events(1)), 'stream_deleted');
    assert.equal((await second.append('order-1', events(1), { expectedRevision: 2 })).revision, 3);
    await second.close();
  });

  it('never reuses positions after the newest events are deleted and the file reopened', async () => {
    const path = freshPath();
    const first = await openEventStore({ engine: 'sqlite', path });
    const { position } = await first.append('s-1', events(2));
    await first.deleteStream('s-1');
    await first.close();
    const second = await openEventStore({ engine: 'sqlite', path });
    assert.ok((await second.append('s-2', events(1))).position > position);
    await second.close();
  });

  it('lets one store write a file at a time, and says which file is taken', async () => {
    const path = freshPath();
    const writer = await openEventStore({ engine: 'sqlite', path });
    await writer.append('s-1', events(1));
    const error = await rejectsWith(openEventStore({ engine: 'sqlite', path }), 'unavailable');
    assert.match(error.message, /annals\.db is in use/);
    assert.equal((await writer.readAll()).length, 1);
    await writer.close();
    const next = await openEventStore({ engine: 'sqlite', path });
    assert.equal((await next.readAll()).length, 1);
    await next.close();
  });

  it('answers unavailable, writes nothing and keeps working when the disk budget is spent', async () => {
    const path = freshPath();
    const store = await openEventStore({ engine: 'sqlite', path, maxSizeBytes: 256 * 1024 });
    const big = { type: 'Big', data: 'x'.repeat(20_000) };
    let error: unknown;
    for (let i = 0; i < 50 && error === undefined; i++) {
      await store.append(`s-${i}`, [big, big]).catch((caught: unknown) => (error = caught));
    }
    assert.equal((error as { code?: string }).code, 'unavailable');
    const all = await store.readAll();
    assert.ok(all.every((e, i) => i === 0 || e.position > all[i - 1]!.position));
    assert.ok(all.length % 2 === 0, 'no append is half written');
    await store.deleteStream('s-0');
    assert.equal((await store.append('small-1', events(1))).revision, 0);
    await store.close();
  });

  it('refuses a database written by a newer Annals', async () => {
    const path = freshPath();
    const store = await openEventStore({ engine: 'sqlite', path });
    await store.close();
    const db = new Database(path);
    db.pragma(`user_version = ${schemaVersion + 1}`);
    db.close();
    await assert.rejects(openEventStore({ engine: 'sqlite', path }), /newer than this Annals/);
  });
});
