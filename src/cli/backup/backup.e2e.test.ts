/**
 * `annals backup` and `annals restore` as operators run them: a real server under steady appends, the
 * backup made meanwhile, restored into a new directory and served again; and a PostgreSQL store's backup
 * restored into SQLite.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { connect } from '../../client/connect.js';
import { openEventStore } from '../../engines/open.js';
import { openTestPostgresStore, postgresSkipReason } from '../../engines/postgres/testing/test-database.js';
import { httpCall } from '../../server/testing/http.js';
import { serveForTest } from '../../server/testing/serve.js';
import type { EventStore } from '../../store/event-store.js';
import type { RecordedEvent } from '../../store/model.js';
import { cli, freePort, root, serve, stop } from '../testing/processes.js';

const dir = mkdtempSync(join(tmpdir(), 'annals-backup-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Runs an `annals` command without blocking this process, which may be serving the command itself. */
const annals = async (args: string[]) => {
  const child = spawn(process.execPath, [...cli, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const [status] = (await once(child, 'exit')) as [number];
  return { status, stdout, stderr, summary: () => JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, unknown> };
};

const everything = async (store: EventStore) => {
  const events: RecordedEvent[] = [];
  for await (const event of store.iterateAll({ filter: { includeSystem: true } })) events.push(event);
  return events;
};

const token = () => randomBytes(24).toString('hex');

describe('annals backup and restore', { concurrency: true }, () => {
  it('backs up a SQLite server under steady appends, and the restored copy holds every acknowledged event up to its head', async () => {
    const tokens = { admin: token(), ordersAdmin: token(), reader: token() };
    const tokenFile = join(dir, 'tokens.json');
    writeFileSync(
      tokenFile,
      JSON.stringify({
        tokens: [
          { name: 'ops', role: 'admin', token: tokens.admin },
          { name: 'orders-admin', role: 'admin', streams: ['order-'], token: tokens.ordersAdmin },
          { name: 'dashboards', role: 'reader', token: tokens.reader },
        ],
      }),
    );
    const [port, restoredPort] = [await freePort(), await freePort()];
    const url = `http://127.0.0.1:${port}`;
    const data = join(dir, 'live');
    const server = await serve(['--port', String(port), '--data', data, '--tokens', tokenFile, '--durability', 'os']);
    const client = connect(url, { token: tokens.admin });
    let restored: Awaited<ReturnType<typeof serve>> | undefined;
    try {
      // Some megabytes first, so that the copy takes many steps while the appends below go on.
      for (let batch = 0; batch < 20; batch++)
        await client.append(
          `order-${batch}`,
          Array.from({ length: 1000 }, (_, i) => ({ type: 'Placed', data: { i, text: 'x'.repeat(200) } })),
        );

      for (const refused of [tokens.ordersAdmin, tokens.reader])
        assert.equal((await httpCall(url, 'GET', '/backup', { token: refused })).status, 403);

      const acknowledged: { stream: string; revision: number; position: bigint }[] = [];
      let appending = true;
      const writers = Array.from({ length: 2 }, async (_, writer) => {
        for (let i = 0; appending; i++) {
          const stream = `live-${writer}-${i % 10}`;
          const { revision, position } = await client.append(stream, [{ type: 'Ticked', data: { i } }]);
          acknowledged.push({ stream, revision, position });
        }
      });
      const out = join(dir, 'backups', 'annals.db');
      mkdirSync(join(dir, 'backups'));
      const made = await annals(['backup', '--out', out, '--url', url, '--token', tokens.admin]);
      const duringBackup = acknowledged.length;
      await new Promise((resolve) => setTimeout(resolve, 200));
      appending = false;
      await Promise.all(writers);
      assert.equal(made.status, 0, made.stderr);
      const summary = made.summary();
      const head = BigInt(summary.headPosition as string);
      assert.equal(summary.format, 'sqlite');
      assert.equal(statSync(out).mode & 0o777, 0o600);
      assert.deepEqual(readdirSync(join(dir, 'backups')), ['annals.db'], 'no partial file is left');
      assert.ok(!readdirSync(data).some((name) => name.includes('.backup-')), `the server removed its copy: ${readdirSync(data).join()}`);
      assert.ok(duringBackup > 0 && head > 20_000n, `appends went on during the backup (${duringBackup}), head ${head}`);
      assert.ok(
        acknowledged.some(({ position }) => position > head),
        'appends went on after the copy was taken',
      );

      const target = join(dir, 'restored');
      const restore = await annals(['restore', '--from', out, '--data', target]);
      assert.equal(restore.status, 0, restore.stderr);
      assert.equal(restore.summary().epoch, 2);
      assert.equal(restore.summary().epochStart, String(head));
      writeFileSync(join(dir, 'restored-tokens.json'), JSON.stringify({ tokens: [{ name: 'ops', role: 'admin', token: tokens.admin }] }));
      restored = await serve(['--port', String(restoredPort), '--data', target, '--tokens', join(dir, 'restored-tokens.json')]);
      // A store is there: refused without --force, and with it while a server holds the store.
      const [again, busy] = await Promise.all([
        annals(['restore', '--from', out, '--data', target]),
        annals(['restore', '--from', out, '--data', target, '--force']),
      ]);
      assert.equal(again.status, 1);
      assert.match(again.stderr, /a store exists at .*give --force/);
      assert.equal(busy.status, 1);
      assert.match(busy.stderr, /in use by another Annals process/);

      const copy = connect(`http://127.0.0.1:${restoredPort}`, { token: tokens.admin });
      try {
        const stats = await copy.stats();
        assert.equal(stats.epoch, 2);
        assert.equal(stats.storeId, (await client.stats()).storeId);
        assert.equal(stats.headPosition, head);
        const events = await everything(copy);
        // Exactly the log up to the head: every position once, the acknowledged ones as acknowledged.
        assert.equal(events.length, Number(head));
        const byPosition = new Map(events.map((event) => [event.position, event]));
        for (const { stream, revision, position } of acknowledged.filter(({ position }) => position <= head))
          assert.deepEqual([byPosition.get(position)?.stream, byPosition.get(position)?.revision], [stream, revision]);
      } finally {
        await copy.close();
      }
    } finally {
      await client.close();
      await stop(server);
      if (restored !== undefined) await stop(restored);
    }
  });

  it('restores a PostgreSQL backup (NDJSON) into SQLite, system events and all', async (t) => {
    if (await postgresSkipReason()) return t.skip('PostgreSQL is unreachable');
    const { url, client, server } = await serveForTest(await openTestPostgresStore());
    try {
      await client.append('order-1', [{ type: 'Placed', data: { total: 30 } }]);
      await client.append('order-2', [{ type: 'Placed', data: {} }]);
      await client.setMetadata('order-1', { maxCount: 10 });
      await client.deleteStream('order-2');
      await client.append('order-3', [{ type: 'Placed', data: { note: 'é\u2028' } }]);
      const out = join(dir, 'pg.ndjson');
      const made = await annals(['backup', '--out', out, '--url', url]);
      assert.equal(made.status, 0, made.stderr);
      assert.equal(made.summary().format, 'ndjson');

      const target = join(dir, 'from-pg');
      const restore = await annals(['restore', '--from', out, '--data', target]);
      assert.equal(restore.status, 0, restore.stderr);
      const copy = await openEventStore({ path: join(target, 'annals.db') });
      try {
        const [source, stats] = [await client.stats(), await copy.stats()];
        assert.deepEqual([stats.storeId, stats.epoch, stats.headPosition], [source.storeId, source.epoch + 1, source.headPosition]);
        assert.deepEqual(await everything(copy), await everything(client));
        assert.deepEqual(await copy.getMetadata('order-1'), { maxCount: 10 });
      } finally {
        await copy.close();
      }
    } finally {
      await client.close();
      await server.close();
    }
  });
});
