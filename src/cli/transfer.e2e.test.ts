/** `annals export`, `import` and `copy` as operators run them: a server on SQLite, files, and local stores. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { cli, freePort, root, serve, stop } from './testing/processes.js';

const dir = mkdtempSync(join(tmpdir(), 'annals-transfer-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const run = (args: string[]) => {
  const result = spawnSync(process.execPath, [...cli, ...args], { cwd: root, encoding: 'utf8', timeout: 30_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
};

describe('annals export, import and copy', () => {
  it('move a log with metadata, deletes and tombstones from a server to local SQLite stores, verified', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const server = await serve(['--dev', '--port', String(port), '--data', join(dir, 'source')]);
    const file = join(dir, 'log.ndjson');
    try {
      const on = (args: string[]) => run([...args, '--url', url]);
      assert.equal(on(['append', 'order-1', '--type', 'Placed', '--data', '{"total":3}']).status, 0);
      assert.equal(on(['metadata', 'order-1', '--set', '{"maxCount":10}']).status, 0);
      assert.equal(on(['append', 'cart-1', '--type', 'Added']).status, 0);
      assert.equal(on(['delete', 'cart-1']).status, 0);
      assert.equal(on(['append', 'cart-1', '--type', 'Added']).status, 0);
      assert.equal(on(['append', 'temp-1', '--type', 'Added']).status, 0);
      assert.equal(on(['delete', 'temp-1', '--hard']).status, 0);

      const exported = on(['export', '--out', file]);
      assert.equal(exported.status, 0, exported.stderr);
      const [header, ...lines] = readFileSync(file, 'utf8').trimEnd().split('\n');
      assert.equal(JSON.parse(header!).annals, 'export');
      assert.ok(lines.some((line) => JSON.parse(line).type === '$deleted'));

      // An export cut short mid-line goes on after its last complete line, and ends as a whole one does.
      const whole = readFileSync(file, 'utf8');
      const cut = join(dir, 'cut.ndjson');
      writeFileSync(cut, whole.slice(0, Math.floor(whole.length * 0.6)));
      const resumed = on(['export', '--out', cut, '--resume']);
      assert.equal(resumed.status, 0, resumed.stderr);
      assert.match(resumed.stdout, /going on from position \d+/);
      assert.equal(readFileSync(cut, 'utf8'), whole);
      // A file of another store is refused, not appended to.
      const other = join(dir, 'other.ndjson');
      writeFileSync(other, whole.replace(/"storeId":"[^"]+"/, '"storeId":"another-store"'));
      const refused = on(['export', '--out', other, '--resume']);
      assert.equal(refused.status, 1);
      assert.match(refused.stderr, /is an export of another-store/);

      const imported = run(['import', '--file', file, '--engine', 'sqlite', '--data', join(dir, 'copy')]);
      assert.equal(imported.status, 0, imported.stderr);
      assert.match(imported.stdout + imported.stderr, /verified \d+ events/);
      const copied = run(['copy', '--source-url', url, '--target-engine', 'sqlite', '--target-data', join(dir, 'copy-2')]);
      assert.equal(copied.status, 0, copied.stderr);
      const reexported = run(['export', '--engine', 'sqlite', '--data', join(dir, 'copy-2'), '--out', join(dir, 'again.ndjson')]);
      assert.equal(reexported.status, 0, reexported.stderr);
      assert.deepEqual(readFileSync(join(dir, 'again.ndjson'), 'utf8').split('\n').slice(1), lines.concat(''));

      writeFileSync(join(dir, 'torn.ndjson'), `${header}\n${lines[0]}\n{"id":`);
      const torn = run(['import', '--file', join(dir, 'torn.ndjson'), '--engine', 'sqlite', '--data', join(dir, 'copy-3')]);
      assert.equal(torn.status, 1);
      assert.match(torn.stderr, /line 3/);
    } finally {
      await stop(server);
    }
  });
});
