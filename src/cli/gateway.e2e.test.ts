import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { getFresh, startUpstream } from '../gateway/testing/upstreams.js';
import { until } from '../testing/until.js';
import { cli, root, startListening, stop, type ServerProcess } from './testing/processes.js';

const configFile = (config: unknown) => {
  const path = join(mkdtempSync(join(tmpdir(), 'annals-gateway-cli-')), 'gateway.json');
  writeFileSync(path, JSON.stringify(config));
  return path;
};

const gatewayUrl = (gateway: ServerProcess) => {
  const match = /listening on (http:\/\/\S+)/.exec(gateway.output.stderr);
  assert.ok(match, `the gateway did not start: ${gateway.output.stderr}`);
  return match[1]!;
};

const pidOf = async (url: string) => (JSON.parse((await getFresh(`${url}/health/live`)).body) as { pid: number }).pid;

describe('annals gateway', () => {
  it('refuses a bad config, naming the field', () => {
    const path = configFile({ listen: { port: 0 }, routes: [{ prefix: '/o', upstreams: ['nope'] }] });
    const run = spawnSync(process.execPath, [...cli, 'gateway', '--config', path], { cwd: root, encoding: 'utf8' });
    assert.equal(run.status, 1);
    assert.match(run.stderr, /routes\[0\]\.upstreams\[0\] is "nope"/);
    assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
  });

  it('serves the routes of its config, logging JSON, and stops on SIGTERM', async () => {
    const upstream = await startUpstream('svc');
    const path = configFile({ listen: { port: 0 }, routes: [{ prefix: '/svc', upstreams: [upstream.url], auth: 'none' }] });
    const gateway = await startListening(['gateway', '--config', path]);
    try {
      const response = await fetch(`${gatewayUrl(gateway)}/svc/hello`);
      assert.equal(response.status, 200);
      assert.equal(((await response.json()) as { name: string }).name, 'svc');
      assert.equal(await stop(gateway), 0);
      const lines = gateway.output.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { service?: string });
      assert.ok(lines.length > 0 && lines.every((line) => line.service === 'annals-gateway'), 'JSON log lines');
    } finally {
      await stop(gateway, 'SIGKILL');
      await upstream.app.close();
    }
  });

  it('--workers 2: shares the port, the rate limits and the metrics, replaces a killed worker, and stops on SIGINT', async () => {
    const upstream = await startUpstream('svc');
    const limit = 30;
    const path = configFile({
      listen: { port: 0 },
      routes: [{ prefix: '/svc', upstreams: [upstream.url], auth: 'none' }],
      rateLimit: { perToken: 1000, perAddress: limit, windowMs: 60_000 },
    });
    const gateway = await startListening(['gateway', '--config', path, '--workers', '2']);
    try {
      const url = gatewayUrl(gateway);
      assert.match(gateway.output.stderr, /2 workers/);
      const pids = new Set<number>();
      for (let tries = 0; pids.size < 2 && tries < 20; tries++) pids.add(await pidOf(url));
      assert.equal(pids.size, 2, 'two workers answer');

      // Over more than one worker, exactly `limit` requests pass: the primary counts for all of them.
      const statuses = [];
      for (let index = 0; index < limit + 10; index++) statuses.push((await getFresh(`${url}/svc/${index}`)).status);
      assert.deepEqual(
        [statuses.filter((status) => status === 200).length, statuses.filter((status) => status === 429).length],
        [limit, 10],
      );
      const metrics = (await getFresh(`${url}/metrics`)).body;
      assert.match(
        metrics,
        new RegExp(`annals_gateway_request_duration_seconds_count\\{route="/svc",status="200",upstream="[^"]+"\\} ${limit}\\n`),
      );
      assert.match(metrics, /annals_gateway_workers 2\n/);

      // A connection the primary hands to a worker in the instant it dies is lost with it (node:cluster); from
      // the moment the primary knows, every request goes to a live worker while it starts another.
      const [killed] = [...pids];
      process.kill(killed!, 'SIGKILL');
      await until(() => gateway.output.stdout.includes('gateway worker died'), 'the primary to notice');
      const seen = new Set<number>();
      for (let tries = 0; tries < 200 && [...seen].every((pid) => pids.has(pid)); tries++) {
        seen.add(await pidOf(url));
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      assert.ok(
        !seen.has(killed!) && [...seen].some((pid) => !pids.has(pid)),
        'the others served on, and a new worker took the place of the killed one',
      );
      assert.match((await getFresh(`${url}/metrics`)).body, /annals_gateway_worker_restarts_total 1\n/);

      assert.equal(await stop(gateway, 'SIGINT'), 0);
      assert.match(gateway.output.stdout, /stopping the workers/);
    } finally {
      await stop(gateway, 'SIGKILL');
      await upstream.app.close();
    }
  });
});
