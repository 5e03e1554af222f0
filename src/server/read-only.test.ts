/**
 * Read-only mode: the operator's flag, and a spent SQLite disk budget that the server notices on a failed
 * write, refuses further writes at once, and leaves once its write probe succeeds again.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { openEventStore } from '../engines/open.js';
import { UnavailableError } from '../store/errors.js';
import { serveForTest } from './testing/serve.js';

const dir = mkdtempSync(join(tmpdir(), 'annals-read-only-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const appendOver = (url: string, stream: string, data: unknown = { n: 1 }) =>
  fetch(`${url}/streams/${stream}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ events: [{ type: 'Thing', data }] }),
  });

describe('read-only mode', () => {
  it('--read-only refuses writes at once with the reason, serves reads, and says so in health and metrics', async () => {
    const store = await openEventStore({ engine: 'memory' });
    await store.append('kept-1', [{ type: 'Thing', data: {} }]);
    const { url, client } = await serveForTest(store, { readOnly: true });
    try {
      const refused = await appendOver(url, 'new-1');
      assert.equal(refused.status, 503);
      assert.equal(refused.headers.get('retry-after'), '5');
      const problem = (await refused.json()) as { code: string; reason: string; detail: string };
      assert.deepEqual([problem.code, problem.reason], ['unavailable', 'flag']);
      assert.match(problem.detail, /--read-only/);
      assert.equal((await store.readStream('new-1')).length, 0, 'nothing written');

      assert.equal((await client.readStream('kept-1')).length, 1);
      const ready = (await (await fetch(`${url}/health/ready`)).json()) as { status: string; reason: string; since: string };
      assert.deepEqual([ready.status, ready.reason], ['read_only', 'flag']);
      assert.ok(!Number.isNaN(Date.parse(ready.since)));
      assert.equal((await fetch(`${url}/health/writable`)).status, 503);
      const stats = (await (await fetch(`${url}/stats`)).json()) as { readOnly: { reason: string; since: string } };
      assert.deepEqual(stats.readOnly, { reason: 'flag', since: ready.since });
      await assert.rejects(client.probeWrite(), (error: unknown) => error instanceof UnavailableError && error.reason === 'flag');
      const metrics = await (await fetch(`${url}/metrics`)).text();
      assert.match(metrics, /annals_read_only\{reason="flag"\} 1/);
      assert.match(metrics, /annals_read_only\{reason="disk_budget"\} 0/);
    } finally {
      await client.close();
    }
  });

  it('enters read-only when the SQLite disk budget is spent, and leaves it when the write probe succeeds', async () => {
    const store = await openEventStore({ engine: 'sqlite', path: join(dir, 'budget.db'), maxSizeBytes: 256 * 1024 });
    const { url, client } = await serveForTest(store, { probeIntervalMs: 100 });
    try {
      assert.equal((await fetch(`${url}/health/writable`)).status, 200);
      const big = 'x'.repeat(20_000);
      let refused: Response | undefined;
      for (let index = 0; index < 60 && refused === undefined; index++) {
        const answer = await appendOver(url, `big-${index}`, { big });
        if (!answer.ok) refused = answer;
      }
      assert.equal(refused?.status, 503);
      assert.equal(((await refused.json()) as { reason: string }).reason, 'disk_budget');
      const small = await appendOver(url, 'small-1');
      assert.equal(small.status, 503, 'refused at once while read-only');
      assert.equal(((await small.json()) as { reason: string }).reason, 'disk_budget');
      assert.equal(((await (await fetch(`${url}/health/ready`)).json()) as { status: string }).status, 'read_only');
      assert.equal((await client.readStream('big-0')).length, 1, 'reads go on');

      // Freeing space (here by the operator, on the store itself) lets the probe through.
      for (let index = 0; index < 5; index++) await store.deleteStream(`big-${index}`);
      for (let tries = 0; (await fetch(`${url}/health/writable`)).status !== 200; tries++) {
        assert.ok(tries < 50, 'writable again');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.equal((await appendOver(url, 'small-2')).status, 200);
      assert.equal(((await (await fetch(`${url}/health/ready`)).json()) as { status: string }).status, 'ready');
      assert.equal(((await (await fetch(`${url}/stats`)).json()) as { readOnly: unknown }).readOnly, null);
    } finally {
      await client.close();
    }
  });
});
