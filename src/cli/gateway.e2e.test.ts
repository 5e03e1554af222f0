import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { startUpstream } from '../gateway/testing/upstreams.js';

const main = join(import.meta.dirname, 'main.ts');

const configFile = (config: unknown) => {
  const path = join(mkdtempSync(join(tmpdir(), 'annals-gateway-cli-')), 'gateway.json');
  writeFileSync(path, JSON.stringify(config));
  return path;
};

describe('annals gateway', () => {
  it('refuses a bad config, naming the field', () => {
    const path = configFile({ listen: { port: 0 }, routes: [{ prefix: '/o', upstreams: ['nope'] }] });
    const run = spawnSync(process.execPath, ['--import', 'tsx', main, 'gateway', '--config', path], { encoding: 'utf8' });
    assert.equal(run.status, 1);
    assert.match(run.stderr, /routes\[0\]\.upstreams\[0\] is "nope"/);
    assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
  });

  it('serves the routes of its config, logging JSON, and stops on SIGTERM', async () => {
    const upstream = await startUpstream('svc');
    const path = configFile({ listen: { port: 0 }, routes: [{ prefix: '/svc', upstreams: [upstream.url], auth: 'none' }] });
    const child = spawn(process.execPath, ['--import', 'tsx', main, 'gateway', '--config', path], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      let stdout = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
      const url = await new Promise<string>((resolve, reject) => {
        let stderr = '';
        child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
          stderr += chunk;
          const match = /listening on (http:\/\/\S+)/.exec(stderr);
          if (match) resolve(match[1]!);
        });
        child.once('exit', (code) => reject(new Error(`gateway exited with ${code}: ${stderr}`)));
      });
      const response = await fetch(`${url}/svc/hello`);
      assert.equal(response.status, 200);
      assert.equal(((await response.json()) as { name: string }).name, 'svc');
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      assert.equal(await exited, 0);
      const lines = stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { service?: string });
      assert.ok(lines.length > 0 && lines.every((line) => line.service === 'annals-gateway'), 'JSON log lines');
    } finally {
      child.kill('SIGKILL');
      await upstream.app.close();
    }
  });
});
