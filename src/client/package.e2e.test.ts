/**
 * A service that only talks to a server installs only the client: `@annals/client`, packed as it would be
 * published, installs alone into an empty folder with its three dependencies, without an engine warning or
 * a native module, and works against a live server.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { openEventStore } from '../engines/open.js';
import { serveForTest } from '../server/testing/serve.js';

const run = promisify(execFile);
const root = new URL('../../', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'annals-client-package-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Every file below `path`, relative to it. */
const filesBelow = (path: string): string[] =>
  readdirSync(path, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(path.length + 1));

describe('the client package', () => {
  it('installs alone with its three dependencies, no engine warning, no native module, and works', async () => {
    const { stdout } = await run('npm', ['pack', '--workspace', '@annals/client', '--pack-destination', dir, '--json'], { cwd: root });
    const [{ filename }] = JSON.parse(stdout.slice(stdout.indexOf('['))) as [{ filename: string }];
    const project = join(dir, 'service');
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'service', private: true, type: 'module' }));
    const install = await run('npm', ['install', join(dir, filename), '--prefer-offline', '--no-audit', '--no-fund'], { cwd: project });
    assert.doesNotMatch(install.stdout + install.stderr, /EBADENGINE|WARN/i);

    const modules = join(project, 'node_modules');
    const installed = readdirSync(modules)
      .filter((name) => !name.startsWith('.'))
      .flatMap((name) => (name.startsWith('@') ? readdirSync(join(modules, name)).map((inner) => `${name}/${inner}`) : [name]));
    assert.deepEqual(installed.sort(), ['@annals/client', 'eventsource-parser', 'lru-cache', 'undici']);
    assert.deepEqual(
      filesBelow(modules).filter((file) => file.endsWith('.node')),
      [],
      'no native module',
    );

    const store = await openEventStore({ engine: 'memory' });
    const served = await serveForTest(store);
    try {
      writeFileSync(
        join(project, 'probe.mjs'),
        `import { connect, WrongExpectedRevisionError, AnnalsError } from '@annals/client';
        const store = connect(process.argv[2]);
        await store.append('order-1', [{ type: 'Placed', data: { total: 30 } }], { expectedRevision: 'no_stream' });
        const conflict = await store.append('order-1', [{ type: 'Placed', data: {} }], { expectedRevision: 'no_stream' }).catch((error) => error);
        const events = await store.readStream('order-1');
        console.log(JSON.stringify({ types: events.map((event) => event.type), conflict: conflict instanceof WrongExpectedRevisionError && conflict instanceof AnnalsError }));
        await store.close();`,
      );
      const probe = await run(process.execPath, ['probe.mjs', served.url], { cwd: project });
      assert.deepEqual(JSON.parse(probe.stdout), { types: ['Placed'], conflict: true });
    } finally {
      await served.client.close();
    }
  });
});
