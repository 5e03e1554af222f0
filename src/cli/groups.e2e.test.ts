/** `annals groups ...` as users run it: real processes, a server and the command against it. */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect } from '../client/connect.js';
import type { EventStore } from '../store/event-store.js';
import { cli, freePort, root, serve, stop, type ServerProcess } from './testing/processes.js';

const dir = mkdtempSync(join(tmpdir(), 'annals-cli-groups-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('annals groups', () => {
  let server: ServerProcess;
  let url: string;
  let store: EventStore;
  /** Runs the command without blocking this process, whose client keeps connections to the server alive. */
  const run = async (args: string[]) => {
    const result = await promisify(execFile)(process.execPath, [...cli, 'groups', ...args, '--url', url], {
      cwd: root,
      encoding: 'utf8',
      timeout: 20_000,
    }).then(
      (done) => ({ status: 0, ...done }),
      (failed: { code: number; stdout: string; stderr: string }) => ({ status: failed.code, stdout: failed.stdout, stderr: failed.stderr }),
    );
    return { ...result, json: () => JSON.parse(result.stdout) };
  };
  const lines = (stdout: string) =>
    stdout
      .trim()
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line));

  before(async () => {
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    server = await serve(['--port', String(port), '--dev', '--engine', 'memory', '--data', join(dir, 'data')]);
    store = connect(url);
  });
  after(async () => {
    await store.close();
    await stop(server);
  });

  it('explains each subcommand with --help', () => {
    for (const command of ['list', 'info', 'create', 'update', 'delete', 'parked', 'replay-parked', 'delete-parked', 'replay']) {
      const help = spawnSync(process.execPath, [...cli, 'groups', command, '--help'], { cwd: root, encoding: 'utf8' });
      assert.equal(help.status, 0, command);
      assert.match(help.stdout, new RegExp(`Usage: annals groups ${command}`));
    }
  });

  it('creates, lists, shows, updates and deletes a group', async () => {
    const created = await run([
      'create',
      'billing',
      '--category',
      'order',
      '--strategy',
      'pinned',
      '--ack-timeout',
      '10s',
      '--max-retries',
      '0',
    ]);
    assert.equal(created.status, 0, created.stderr);
    assert.deepEqual(created.json().created, true);
    assert.equal(created.json().settings.ackTimeoutMs, 10_000);
    assert.equal(created.json().settings.maxRetries, 0);
    assert.deepEqual(created.json().settings.source, { category: 'order' });
    assert.equal(
      (await run(['create', 'billing', '--category', 'order', '--strategy', 'pinned', '--ack-timeout', '10s', '--max-retries', '0'])).json()
        .created,
      false,
    );
    const conflict = await run(['create', 'billing', '--category', 'invoice']);
    assert.equal(conflict.status, 1);
    assert.match(conflict.stderr, /^error conflict: .*source/);

    const filtered = await run(['create', 'audit', '--types', 'Placed,Paid', '--streams', 'order-', '--from', 'end']);
    assert.deepEqual(filtered.json().settings.source, { filter: { types: ['Placed', 'Paid'], streams: ['order-'] } });

    const listed = lines((await run(['list'])).stdout);
    assert.deepEqual(
      listed.map((info) => info.name),
      ['audit', 'billing'],
    );
    const info = (await run(['info', 'billing'])).json();
    assert.equal(info.settings.strategy, 'pinned');
    assert.equal(typeof info.checkpoint, 'string');

    const updated = await run(['update', 'billing', '--pause', '--retry-delay', '2s']);
    assert.equal(updated.status, 0, updated.stderr);
    assert.equal(updated.json().paused, true);
    assert.equal(updated.json().retryDelayMs, 2000);
    assert.equal((await run(['update', 'billing', '--resume'])).json().paused, false);
    assert.match((await run(['update', 'billing'])).stderr, /nothing to change/);
    assert.match((await run(['update', 'billing', '--ack-timeout', 'soon'])).stderr, /--ack-timeout is 'soon'/);

    assert.equal((await run(['delete', 'audit'])).status, 0);
    const gone = await run(['info', 'audit']);
    assert.equal(gone.status, 1);
    assert.match(gone.stderr, /^error not_found: group 'audit' does not exist/);
  });

  it('lists, replays and deletes parked events, and replays a range', async () => {
    await store.groups.create('repair', { source: { stream: 'order-1' }, maxRetries: 0, retryDelayMs: 0 });
    for (let index = 0; index < 3; index++) await store.append('order-1', [{ type: 'Placed', data: { index } }]);
    const got = await store.groups.pull('repair', { consumer: 'c1', max: 3, waitMs: 1000 });
    await store.groups.nack(
      'repair',
      got.map((delivery) => delivery.id),
      { action: 'park', reason: 'broken' },
    );

    const parked = lines((await run(['parked', 'repair'])).stdout);
    assert.equal(parked.length, 3);
    assert.equal(parked[0].reason, 'broken');
    assert.equal(parked[0].event.stream, 'order-1');
    assert.equal(lines((await run(['parked', 'repair', '--limit', '1'])).stdout).length, 1);

    assert.deepEqual((await run(['replay-parked', 'repair', '--ids', parked[0].event.position])).json(), { replayed: 1 });
    assert.deepEqual((await run(['delete-parked', 'repair', '--ids', parked[1].event.position])).json(), { deleted: 1 });
    assert.deepEqual((await run(['replay-parked', 'repair'])).json(), { replayed: 1 });
    assert.match((await run(['replay-parked', 'repair', '--ids', 'x'])).stderr, /--ids has 'x'/);

    const again = await store.groups.pull('repair', { consumer: 'c1', max: 3, waitMs: 1000 });
    assert.equal(again.length, 2);
    await store.groups.ack(
      'repair',
      again.map((delivery) => delivery.id),
    );
    const replay = await run(['replay', 'repair', '--from', '1', '--to', '2']);
    assert.equal(replay.status, 0, replay.stderr);
    assert.deepEqual(replay.json(), { from: '1', to: '2' });
    assert.match((await run(['replay', 'repair'])).stderr, /required option '--from <position>'/);
  });
});
