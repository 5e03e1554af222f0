/**
 * The alert rules: promtool's own unit tests (annals.rules.test.yml) fire each rule from series, and
 * every metric a rule names is one that an Annals server or gateway exports.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { startGateway, startUpstream } from '../../src/gateway/testing/upstreams.js';
import { openEventStore } from '../../src/engines/open.js';
import { serveForTest } from '../../src/server/testing/serve.js';

const here = new URL('.', import.meta.url).pathname;
const promtoolMissing = spawnSync('promtool', ['--version']).error !== undefined;
const skip =
  promtoolMissing && process.env.CI !== 'true'
    ? "promtool is not installed (apt-get install prometheus); SKIPPING promtool's rule tests"
    : false;
if (skip) console.warn(`\n*** ${skip} ***\n`);

const exported = async (url: string) =>
  new Set([...(await (await fetch(`${url}/metrics`)).text()).matchAll(/^# TYPE (\w+) /gm)].map((match) => match[1]!));

describe('alert rules (deploy/prometheus)', () => {
  it('fire as promtool test rules expects', { skip }, () => {
    const run = spawnSync('promtool', ['test', 'rules', 'annals.rules.test.yml'], { cwd: here, encoding: 'utf8' });
    assert.equal(run.status, 0, `${run.stdout}\n${run.stderr}`);
  });

  it('name only metrics that Annals exports', async () => {
    const named = new Set(
      [...readFileSync(`${here}/annals.rules.yml`, 'utf8').matchAll(/\b(annals_[a-z_]+)\b/g)].map((match) => match[1]!),
    );
    // SQLite with a disk budget: the budget gauge exists only where there is one.
    const dir = mkdtempSync(join(tmpdir(), 'annals-rules-'));
    const store = await openEventStore({ path: join(dir, 'annals.db'), maxSizeBytes: 1024 * 1024 * 1024 });
    const { url, client } = await serveForTest(store);
    const upstream = await startUpstream('svc');
    const gateway = await startGateway({ routes: [{ prefix: '/svc', upstreams: [upstream.url] }] });
    try {
      const metrics = new Set([...(await exported(url)), ...(await exported(gateway.url))]);
      assert.deepEqual(
        [...named].filter((name) => !metrics.has(name)),
        [],
      );
    } finally {
      await gateway.close();
      await upstream.app.close();
      await client.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
