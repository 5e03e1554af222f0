/** A replica as operators run one: two `annals serve` processes with authentication, the client commands, and `annals promote`. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { until } from '../testing/until.js';
import { cli, freePort, root, serve, stop } from './testing/processes.js';

const dir = mkdtempSync(join(tmpdir(), 'annals-replica-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const run = (args: string[]) => {
  const result = spawnSync(process.execPath, [...cli, ...args], { cwd: root, encoding: 'utf8', timeout: 20_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
};
const adminTokenOf = (data: string) =>
  (JSON.parse(readFileSync(join(data, 'tokens.json'), 'utf8')) as { tokens: { token: string }[] }).tokens[0]!.token;

describe('annals serve --replica-of', () => {
  it('follows the primary, refuses writes, and takes them once promoted with annals promote', async () => {
    const [primaryPort, replicaPort] = [await freePort(), await freePort()];
    const primaryUrl = `http://127.0.0.1:${primaryPort}`;
    const replicaUrl = `http://127.0.0.1:${replicaPort}`;
    const primaryData = join(dir, 'primary');
    const replicaData = join(dir, 'replica');
    const primary = await serve(['--port', String(primaryPort), '--data', primaryData]);
    const primaryToken = adminTokenOf(primaryData);
    const replica = await serve([
      '--port',
      String(replicaPort),
      '--data',
      replicaData,
      '--replica-of',
      primaryUrl,
      '--token',
      primaryToken,
    ]);
    try {
      assert.match(replica.output.stderr, new RegExp(`listening on ${replicaUrl} .*replica of ${primaryUrl}`));
      const replicaToken = adminTokenOf(replicaData);
      const on = (url: string, token: string, args: string[]) => run([...args, '--url', url, '--token', token]);
      assert.equal(on(primaryUrl, primaryToken, ['append', 'order-1', '--type', 'Placed', '--data', '{"total":3}']).status, 0);
      await until(() => on(replicaUrl, replicaToken, ['read', 'order-1']).stdout.includes('"Placed"'), 'the event on the replica', 15_000);

      const refused = on(replicaUrl, replicaToken, ['append', 'order-2', '--type', 'Placed', '--data', '{}']);
      assert.equal(refused.status, 1);
      assert.match(refused.stderr, /unavailable: .*replica/);

      const promoted = on(replicaUrl, replicaToken, ['promote']);
      assert.equal(promoted.status, 0, promoted.stderr);
      assert.equal((JSON.parse(promoted.stdout) as { epoch: number }).epoch, 2);
      assert.equal(on(replicaUrl, replicaToken, ['append', 'order-2', '--type', 'Placed', '--data', '{}']).status, 0);
      assert.equal(on(replicaUrl, replicaToken, ['promote']).status, 1, 'a second promotion is refused');
    } finally {
      await stop(replica);
      await stop(primary);
    }
  });

  it('refuses flags that cannot work, by name', () => {
    const badUrl = run(['serve', '--data', join(dir, 'bad-1'), '--replica-of', 'primary:2113', '--token', 't']);
    assert.equal(badUrl.status, 1);
    assert.match(badUrl.stderr, /'primary:2113' is not a server URL/);
    const noToken = spawnSync(process.execPath, [...cli, 'serve', '--data', join(dir, 'bad-2'), '--replica-of', 'http://127.0.0.1:1'], {
      cwd: root,
      encoding: 'utf8',
      timeout: 20_000,
      env: { ...process.env, ANNALS_TOKEN: '' },
    });
    assert.equal(noToken.status, 1);
    assert.match(noToken.stderr, /--replica-of needs --token/);
  });
});
