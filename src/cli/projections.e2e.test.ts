/**
 * `annals projections` and `annals replay` as users run them: a real server, the commands against it, and
 * a fake runner in this test that reports, claims the replay request and settles it with progress, so
 * that the command following it ends.
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { connect } from '../client/connect.js';
import { runnerReport } from '../projection/registry/conformance/suite.js';
import type { ProjectionRequest, RequestOutcome } from '../projection/registry/model.js';
import type { EventStore } from '../store/event-store.js';
import { cli, freePort, root, serve, stop, type ServerProcess } from './testing/processes.js';

const dir = mkdtempSync(join(tmpdir(), 'annals-cli-projections-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('annals projections and annals replay', () => {
  let server: ServerProcess;
  let url: string;
  let store: EventStore;
  /** Runs the command without blocking this process, so that the fake runner works meanwhile. */
  const run = async (args: string[]) =>
    promisify(execFile)(process.execPath, [...cli, ...args, '--url', url], { cwd: root, encoding: 'utf8', timeout: 20_000 }).then(
      (done) => ({ status: 0, ...done }),
      (failed: { code: number; stdout: string; stderr: string }) => ({ status: failed.code, stdout: failed.stdout, stderr: failed.stderr }),
    );
  const lines = (stdout: string) =>
    stdout
      .trim()
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line));

  /** The fake runner: claims the next request of `name` and carries it out in `steps`, ending with `end`. */
  const carryOut = async (name: string, steps: number, end: RequestOutcome): Promise<ProjectionRequest> => {
    for (;;) {
      const claimed = await store.projections.claim(name, 'runner-a');
      if (claimed !== undefined) {
        for (let done = 1; done <= steps; done++) {
          await store.projections.settle(name, claimed.requestId, {
            state: 'running',
            runnerId: 'runner-a',
            progress: { done, total: steps, etaSeconds: steps - done },
          });
          await sleep(60);
        }
        await store.projections.settle(name, claimed.requestId, { ...end, runnerId: 'runner-a' });
        return claimed;
      }
      await sleep(20);
    }
  };

  before(async () => {
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    server = await serve(['--port', String(port), '--dev', '--engine', 'memory', '--data', join(dir, 'data')]);
    store = connect(url);
    await store.projections.report(runnerReport({ name: 'orders', host: 'box-1' }));
    await store.projections.report(runnerReport({ name: 'customers', runnerId: 'runner-c', activeVersion: 2 }));
  });
  after(async () => {
    await store.close();
    await stop(server);
  });

  it('explains the commands with --help', () => {
    for (const command of [['projections'], ['projections', 'info'], ['replay']]) {
      const help = spawnSync(process.execPath, [...cli, ...command, '--help'], { cwd: root, encoding: 'utf8' });
      assert.equal(help.status, 0, command.join(' '));
      assert.match(help.stdout, new RegExp(`Usage: annals ${command.join(' ')}`));
    }
  });

  it('lists the projections and shows one (JSON lines when piped)', async () => {
    const listed = await run(['projections']);
    assert.equal(listed.status, 0, listed.stderr);
    assert.deepEqual(
      lines(listed.stdout).map((info) => [info.name, info.state, info.position, info.host]),
      [
        ['customers', 'running', '42', 'host-a'],
        ['orders', 'running', '42', 'box-1'],
      ],
    );
    const info = await run(['projections', 'info', 'orders']);
    assert.equal(info.status, 0, info.stderr);
    assert.equal(lines(info.stdout)[0].activeVersion, 1);
    const unknown = await run(['projections', 'info', 'nobody']);
    assert.equal(unknown.status, 1);
    assert.match(unknown.stderr, /^error not_found: projection 'nobody' is unknown/);
  });

  it('replays a projection and follows it until its runner is done', async () => {
    const runner = carryOut('orders', 4, { state: 'done' });
    const replay = await run(['replay', '--projection', 'orders', '--from', '1', '--to', '40', '--category', 'order', '--interval', '20']);
    const claimed = await runner;
    assert.equal(replay.status, 0, replay.stderr);
    assert.deepEqual(claimed.options, { from: 1n, to: 40n, category: 'order' });
    assert.match(replay.stderr, new RegExp(`request ${claimed.requestId}`));
    assert.match(replay.stdout, /replay of orders: running \d\/4 \(\d+%\)/);
    assert.match(replay.stdout, /the replay of orders is done\n$/);
    assert.equal((await store.projections.request('orders', claimed.requestId)).state, 'done');
  });

  it('exits non-zero with the error when the replay fails', async () => {
    const runner = carryOut('orders', 1, { state: 'failed', error: 'the handler of Placed threw' });
    const replay = await run(['replay', '--projection', 'orders', '--rebuild', '--interval', '20']);
    const claimed = await runner;
    assert.deepEqual(claimed.options, { rebuild: true });
    assert.equal(replay.status, 1);
    assert.match(replay.stderr, /error: the rebuild of orders failed: the handler of Placed threw/);
  });

  it('refuses what cannot be asked, naming the flag or the field', async () => {
    const neither = await run(['replay']);
    assert.equal(neither.status, 1);
    assert.match(neither.stderr, /give one of --projection <name> or --group <name>/);
    assert.match((await run(['replay', '--projection', 'orders', '--from', 'x'])).stderr, /--from is 'x'/);
    assert.match((await run(['replay', '--projection', 'orders', '--from-time', 'noon'])).stderr, /fromTime is 'noon'/);
    assert.match((await run(['replay', '--projection', 'nobody'])).stderr, /^error not_found/);
    assert.match((await run(['replay', '--group', 'billing', '--rebuild'])).stderr, /--rebuild replays projections/);
  });

  it('replays a consumer group and follows its replay cursor', async () => {
    await store.groups.create('billing', { source: { category: 'order' } });
    for (let index = 0; index < 5; index++) await store.append(`order-${index}`, [{ type: 'Placed', data: { index } }]);
    const got = await store.groups.pull('billing', { consumer: 'c1', max: 5, waitMs: 1000 });
    await store.groups.ack(
      'billing',
      got.map((delivery) => delivery.id),
    );
    // A group reads a replay's range as its consumers pull: a consumer works until the command ends.
    let following = true;
    const consumer = (async () => {
      while (following) {
        const deliveries = await store.groups.pull('billing', { consumer: 'c1', max: 2, waitMs: 100 });
        if (deliveries.length > 0)
          await store.groups.ack(
            'billing',
            deliveries.map((delivery) => delivery.id),
          );
      }
    })();
    const replay = await run(['replay', '--group', 'billing', '--from', '1', '--to', '5', '--interval', '20']);
    following = false;
    await consumer;
    assert.equal(replay.status, 0, replay.stderr);
    assert.match(replay.stdout, /replay of group billing \(1 to 5\) 5\/5 \(100%\)/);
    assert.match(replay.stdout, /the replay of group billing is done\n$/);
  });
});
