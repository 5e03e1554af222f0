/**
 * A service that only uses the client installs and loads no native module: the packages a production
 * install of Annals pulls in run no install script (better-sqlite3 is an optional peer dependency), and
 * importing `annals/client` loads nothing of SQLite, PostgreSQL or the server.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

const root = new URL('../../', import.meta.url);

/** Lists the CommonJS modules (where native addons and pg live) that a script leaves loaded. */
const loadedModules = (script: string): string[] =>
  JSON.parse(
    execFileSync(
      process.execPath,
      [
        '--import',
        'tsx',
        '--input-type=module',
        '--eval',
        `${script}
      const { createRequire } = await import('node:module');
      console.log(JSON.stringify(Object.keys(createRequire(import.meta.url).cache)));`,
      ],
      { cwd: root, encoding: 'utf8' },
    ),
  ) as string[];

const server = /node_modules[\\/](better-sqlite3|pg|fastify)[\\/]/;

describe('the client', () => {
  it('loads no native module, nor pg, nor the server', () => {
    const loaded = loadedModules(`
      const { connect } = await import('./src/client/index.ts');
      await connect('http://127.0.0.1:1').close();`);
    assert.ok(
      loaded.some((path) => path.includes('undici')),
      'the probe sees the modules that were loaded',
    );
    assert.deepEqual(
      loaded.filter((path) => server.test(path)),
      [],
    );
  });

  it('would be caught loading them (the probe works)', () => {
    const loaded = loadedModules(`
      const { openEventStore } = await import('./src/index.ts');
      await (await openEventStore({ engine: 'sqlite', path: ':memory:' })).close();`);
    assert.ok(loaded.some((path) => /better-sqlite3/.test(path)));
  });

  it('installs no package that runs an install script (no native build) in production', () => {
    const lock = JSON.parse(readFileSync(new URL('package-lock.json', root), 'utf8')) as {
      packages: Record<string, { dev?: boolean; hasInstallScript?: boolean }>;
    };
    const built = Object.entries(lock.packages).filter(([, entry]) => entry.hasInstallScript && !entry.dev);
    assert.deepEqual(
      built.map(([path]) => path),
      [],
    );
    const manifest = JSON.parse(readFileSync(new URL('package.json', root), 'utf8'));
    assert.equal(manifest.dependencies['better-sqlite3'], undefined);
    assert.equal(manifest.peerDependenciesMeta['better-sqlite3'].optional, true);
  });
});
