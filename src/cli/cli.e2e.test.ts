/** The `annals` command as users run it: a real process serving real HTTP, and the client commands against it. */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { cli, freePort, root, serve, stop } from './testing/processes.js';

const dir = mkdtempSync(join(tmpdir(), 'annals-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const run = (args: string[], input?: string) => {
  const result = spawnSync(process.execPath, [...cli, ...args], { cwd: root, input, encoding: 'utf8', timeout: 20_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
};

describe('annals', () => {
  it('explains itself and each command with --help', () => {
    const top = run(['--help']);
    assert.equal(top.status, 0);
    for (const command of ['serve', 'append', 'read', 'tail', 'stats', 'streams', 'delete', 'metadata', 'groups', 'tokens']) {
      assert.match(top.stdout, new RegExp(`\\b${command}\\b`));
      const help = run([command, '--help']);
      assert.equal(help.status, 0, command);
      assert.match(help.stdout, new RegExp(`Usage: annals ${command}`));
    }
    assert.match(run(['serve', '--help']).stdout, /--durability[\s\S]*--tokens[\s\S]*--dev/);
  });

  describe('serve with authentication (the default)', () => {
    const data = join(dir, 'secured');
    let server: Awaited<ReturnType<typeof serve>>;
    let url: string;
    let token: string;
    const client = (args: string[], input?: string) => run([...args, '--url', url, '--token', token], input);

    before(async () => {
      const port = await freePort();
      url = `http://127.0.0.1:${port}`;
      server = await serve(['--port', String(port), '--data', data]);
      token = JSON.parse(readFileSync(join(data, 'tokens.json'), 'utf8')).tokens[0].token;
    });
    after(() => stop(server));

    it('creates an admin token on first start, says where, and prints its URL', () => {
      assert.match(server.output.stdout, /created an admin token in [^"]*tokens\.json/);
      assert.doesNotMatch(server.output.stdout + server.output.stderr, new RegExp(token));
      assert.match(server.output.stderr, new RegExp(`listening on ${url} \\(engine sqlite`));
    });

    it('refuses a call without a token', () => {
      const refused = run(['stats', '--url', url]);
      assert.equal(refused.status, 1);
      assert.match(refused.stderr, /^error unauthenticated: /);
    });

    it('appends, reads and reports statistics end to end', () => {
      const one = client(['append', 'order-1', '--type', 'Placed', '--data', '{"total":30}', '--expected-revision', 'no_stream']);
      assert.equal(one.status, 0, one.stderr);
      assert.deepEqual(JSON.parse(one.stdout), { revision: 0, position: '1' });
      const many = client(['append', 'order-1'], '{"type":"Paid","data":{}}\n{"type":"Shipped","data":{},"metadata":{"by":"cli"}}\n');
      assert.equal(JSON.parse(many.stdout).revision, 2);
      const conflict = client(['append', 'order-1', '--type', 'Late', '--expected-revision', '0']);
      assert.equal(conflict.status, 1);
      assert.match(conflict.stderr, /^error wrong_expected_revision: /);

      const read = client(['read', 'order-1'])
        .stdout.trim()
        .split('\n')
        .map((line) => JSON.parse(line));
      assert.deepEqual(
        read.map((event) => event.type),
        ['Placed', 'Paid', 'Shipped'],
      );
      const backwards = client(['read', '$all', '--backwards', '--limit', '1', '--types', 'Placed,Shipped']).stdout.trim().split('\n');
      assert.equal(JSON.parse(backwards[0]!).type, 'Shipped');
      const { engine, events, streams, headPosition, epoch, disk } = JSON.parse(client(['stats']).stdout);
      assert.deepEqual(
        { engine, events, streams, headPosition, epoch },
        { engine: 'sqlite', events: 3, streams: 1, headPosition: '3', epoch: 1 },
      );
      assert.ok(disk.usedBytes > 0);
    });

    it('follows a stream with tail', async () => {
      const tail = spawn(process.execPath, [...cli, 'tail', 'order-2', '--url', url, '--token', token], { cwd: root });
      let printed = '';
      tail.stdout.on('data', (chunk) => (printed += chunk));
      await new Promise<void>((resolve) => tail.stderr.on('data', (chunk) => String(chunk).includes('caught up') && resolve()));
      client(['append', 'order-2', '--type', 'Live', '--data', '7']);
      while (!printed.includes('\n')) await new Promise((resolve) => setTimeout(resolve, 20));
      tail.kill('SIGINT');
      assert.equal((await once(tail, 'exit'))[0], 0);
      assert.equal(JSON.parse(printed).data, 7);
    });

    it('lists streams, reads and sets metadata, deletes, and answers a read of an absent stream with an error', () => {
      assert.equal(client(['append', 'cart-1', '--type', 'Added']).status, 0);
      assert.equal(client(['append', 'cart-2', '--type', 'Added']).status, 0);
      const listed = client(['streams', '--prefix', 'cart-'])
        .stdout.trim()
        .split('\n')
        .map((line) => JSON.parse(line));
      assert.deepEqual(
        listed.map((info) => info.stream),
        ['cart-1', 'cart-2'],
      );
      const set = client(['metadata', 'cart-1', '--set', '{"maxCount":5,"custom":{"owner":"shop"}}']);
      assert.equal(set.status, 0, set.stderr);
      assert.deepEqual(JSON.parse(client(['metadata', 'cart-1']).stdout), { maxCount: 5, custom: { owner: 'shop' } });
      assert.equal(client(['delete', 'cart-2']).status, 0);
      assert.equal(JSON.parse(client(['streams', '--prefix', 'cart-2']).stdout).deleted, 'soft');
      assert.equal(client(['delete', 'cart-1', '--hard']).status, 0);
      const absent = client(['read', 'never-written']);
      assert.equal(absent.status, 1);
      assert.match(absent.stderr, /^error not_found: stream 'never-written' does not exist/);
      const filtered = client(['read', 'order-1', '--types', 'Placed']);
      assert.equal(filtered.status, 1);
      assert.match(filtered.stderr, /--types filters \$all; a stream is read whole/);
      assert.match(client(['read', '$all', '--limit', 'ten']).stderr, /--limit is 'ten'; allowed: a positive integer/);
    });

    it('ends quietly when the pipe closes early, and stops tail after --limit events', () => {
      const piped = spawnSync('sh', ['-c', `node --import tsx src/cli/main.ts read '$all' --url ${url} --token ${token} | head -1`], {
        cwd: root,
        encoding: 'utf8',
      });
      assert.equal(piped.status, 0);
      assert.equal(piped.stdout.trim().split('\n').length, 1);
      assert.doesNotMatch(piped.stderr, /EPIPE|Error/);
      const tail = client(['tail', '$all', '--from', 'start', '--limit', '2']);
      assert.equal(tail.status, 0, tail.stderr);
      assert.equal(tail.stdout.trim().split('\n').length, 2);
    });

    it('says which flag or variable mends a refusal', () => {
      assert.match(run(['stats', '--url', url]).stderr, /give a token with --token or ANNALS_TOKEN/);
      assert.match(
        run(['stats', '--url', 'http://127.0.0.1:1']).stderr,
        /is the server running at http:\/\/127\.0\.0\.1:1\? set --url or ANNALS_URL/,
      );
    });

    it('refuses a second server on the same data directory with a clear message', async () => {
      const second = await serve(['--port', String(await freePort()), '--data', data]);
      const [code] = await second.exited;
      assert.equal(code, 1);
      assert.match(second.output.stderr, /^error unavailable: database file .*annals\.db is in use by another Annals process\n$/);
    });
  });

  it('keeps the SQLite file within --max-size: appends beyond it are 503 unavailable, reads go on', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const { child, output, exited } = await serve(['--port', String(port), '--dev', '--data', join(dir, 'budget'), '--max-size', '300KB']);
    assert.match(output.stderr, /at most 300,000 bytes/);
    const append = (index: number) =>
      fetch(`${url}/streams/big-1`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ events: [{ type: 'Big', data: { index, padding: 'x'.repeat(4000) } }] }),
      });
    let refused: Response | undefined;
    for (let index = 0; index < 200 && refused === undefined; index++) {
      const response = await append(index);
      if (response.status !== 200) refused = response;
      else await response.arrayBuffer();
    }
    assert.ok(refused !== undefined, 'an append was refused within 800 KB of writes');
    assert.equal(refused.status, 503);
    assert.equal(((await refused.json()) as { code: string }).code, 'unavailable');
    const read = await fetch(`${url}/streams/big-1?limit=1`);
    assert.equal(read.status, 200);
    assert.equal(await stop({ child, exited }), 0);
    for (const bad of ['12XB', '-5', 'many']) {
      const refusedFlag = run(['serve', '--max-size', bad, '--dev', '--data', join(dir, 'unused')]);
      assert.equal(refusedFlag.status, 1);
      assert.match(refusedFlag.stderr, /--max-size .* is not a size/);
    }
    assert.match(run(['serve', '--max-size', '1MB', '--engine', 'memory', '--dev']).stderr, /the memory engine does not take one/);
    assert.match(run(['serve', '--cors', 'https://admin.example.com/path', '--dev']).stderr, /is not an origin/);
  });

  it('tells the user of an unbuilt checkout to build first, instead of a stack trace', () => {
    const checkout = join(dir, 'unbuilt');
    mkdirSync(join(checkout, 'bin'), { recursive: true });
    copyFileSync(join(root, 'bin', 'annals.js'), join(checkout, 'bin', 'annals.js'));
    const result = spawnSync(process.execPath, [join(checkout, 'bin', 'annals.js'), '--help'], { encoding: 'utf8' });
    assert.equal(result.status, 1);
    assert.match(result.stderr, /not built yet\. Run `npm run build`/);
    assert.doesNotMatch(result.stderr, /\n\s+at /);
  });

  it('makes tokens: the file entry with its digest on stdout, the token once on stderr', () => {
    const made = run(['tokens', 'create', '--name', 'billing', '--role', 'writer', '--streams', 'invoice-,payment-']);
    assert.equal(made.status, 0, made.stderr);
    const entry = JSON.parse(made.stdout);
    const token = /token \(shown once; the file keeps only its digest\): (\S+)/.exec(made.stderr)![1]!;
    assert.deepEqual(entry, {
      name: 'billing',
      role: 'writer',
      streams: ['invoice-', 'payment-'],
      sha256: createHash('sha256').update(token).digest('hex'),
    });
    assert.match(run(['tokens', 'create', '--name', 'x', '--role', 'root']).stderr, /Allowed choices are reader, writer, admin/);
    assert.match(run(['tokens', 'create', '--name', 'x', '--role', 'reader', '--streams', 'a-,']).stderr, /empty prefix/);
  });

  it('creates nothing when it fails to start', async () => {
    const blocker = createServer().listen(0, '127.0.0.1');
    await once(blocker, 'listening');
    const data = join(dir, 'never');
    const failed = run(['serve', '--port', String((blocker.address() as { port: number }).port), '--data', data]);
    blocker.close();
    assert.equal(failed.status, 1);
    assert.match(failed.stderr, /EADDRINUSE/);
    assert.equal(existsSync(data), false, 'no data folder, database or token file');
    assert.match(run(['serve', '--port', '70000']).stderr, /'70000' is not a port/);
  });

  it('serves without authentication with --dev, says so, and exits 0 on SIGTERM', async () => {
    const port = await freePort();
    const { child, output, exited } = await serve(['--port', String(port), '--engine', 'memory', '--dev', '--data', join(dir, 'dev')]);
    assert.match(output.stdout, /authentication is OFF/);
    const stats = run(['stats', '--url', `http://127.0.0.1:${port}`]);
    assert.equal(JSON.parse(stats.stdout).engine, 'memory');
    assert.equal(await stop({ child, exited }), 0);
    assert.match(output.stdout, /shutting down/);
  });
});
