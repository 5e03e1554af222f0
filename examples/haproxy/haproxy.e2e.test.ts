/**
 * `haproxy.cfg` as the README gives it, with free ports, in front of two `annals gateway` processes:
 * requests reach both, and when one gateway is killed they keep succeeding through the other.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { freePort, startListening, stop } from '../../src/cli/testing/processes.js';
import { getFresh, startUpstream } from '../../src/gateway/testing/upstreams.js';

const haproxyMissing = spawnSync('haproxy', ['-v']).error !== undefined;
const skip =
  haproxyMissing && process.env.CI !== 'true' ? 'haproxy is not installed (apt-get install haproxy); SKIPPING the HAProxy example' : false;
if (skip) console.warn(`\n*** ${skip} ***\n`);

describe('HAProxy in front of two gateways (examples/haproxy)', { skip, timeout: 60_000 }, () => {
  it('balances over both gateways, and keeps serving when one is killed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'annals-haproxy-'));
    const upstream = await startUpstream('svc');
    const [front, one, two] = [await freePort(), await freePort(), await freePort()];
    const config = join(dir, 'gateway.json');
    writeFileSync(
      config,
      JSON.stringify({
        listen: { port: 0 },
        routes: [{ prefix: '/svc', upstreams: [upstream.url], auth: 'none' }],
        trustProxy: ['127.0.0.1'],
      }),
    );
    const cfg = join(dir, 'haproxy.cfg');
    writeFileSync(
      cfg,
      readFileSync(new URL('./haproxy.cfg', import.meta.url), 'utf8')
        .replace('127.0.0.1:8000', `127.0.0.1:${front}`)
        .replace('127.0.0.1:8081', `127.0.0.1:${one}`)
        .replace('127.0.0.1:8082', `127.0.0.1:${two}`),
    );
    const gateways = [
      await startListening(['gateway', '--config', config, '--port', String(one)]),
      await startListening(['gateway', '--config', config, '--port', String(two)]),
    ];
    const haproxy = spawn('haproxy', ['-f', cfg, '-db'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const haproxyExited = once(haproxy, 'exit');
    try {
      const url = `http://127.0.0.1:${front}`;
      let ready = false;
      for (let tries = 0; tries < 100 && !ready; tries++) {
        ready = await getFresh(`${url}/health/ready`).then(
          (answer) => answer.status === 200,
          () => false,
        );
        if (!ready) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.ok(ready, 'HAProxy serves');

      const pids = new Set<number>();
      for (let index = 0; index < 6; index++) pids.add((JSON.parse((await getFresh(`${url}/health/live`)).body) as { pid: number }).pid);
      assert.equal(pids.size, 2, 'both gateways answer');
      const echoed = JSON.parse((await getFresh(`${url}/svc/hello`)).body) as { name: string; headers: Record<string, string> };
      assert.equal(echoed.name, 'svc');
      assert.equal(echoed.headers['x-forwarded-for'], '127.0.0.1', 'HAProxy names the caller');

      await stop(gateways[0]!, 'SIGKILL');
      const statuses = [];
      for (let index = 0; index < 10; index++) statuses.push((await getFresh(`${url}/svc/${index}`)).status);
      assert.deepEqual(statuses, Array(10).fill(200));
    } finally {
      haproxy.kill('SIGTERM');
      await haproxyExited;
      for (const gateway of gateways) await stop(gateway, 'SIGKILL');
      await upstream.app.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
