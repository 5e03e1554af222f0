/**
 * The admin UI's files at /ui/ (src/server/ui.ts): public, a strict Content-Security-Policy, hashed assets
 * cached for good and index.html revalidated; without a built UI, /ui/ says how to build it. The pages
 * themselves are tested in Chromium (ui.e2e.test.ts).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createAuthenticator } from '../auth/tokens.js';
import { openEventStore } from '../engines/open.js';
import { httpCall } from './testing/http.js';
import { serveForTest } from './testing/serve.js';

const token = 'ui-admin-token-0123456789abcdef';
const authenticator = createAuthenticator([{ name: 'ui', role: 'admin', token }]);

describe('the admin UI files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'annals-ui-'));
  mkdirSync(join(dir, 'assets'));
  writeFileSync(
    join(dir, 'index.html'),
    '<!doctype html><title>Annals admin</title><script type="module" src="/ui/assets/index-AbCd1234.js"></script>',
  );
  writeFileSync(join(dir, 'assets', 'index-AbCd1234.js'), 'console.log(1)');
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('are public, with a strict CSP; assets immutable, index.html revalidated', async () => {
    const served = await serveForTest(await openEventStore({ engine: 'memory' }), { authenticator, uiDir: dir });
    try {
      const page = await fetch(`${served.url}/ui/`);
      assert.equal(page.status, 200);
      assert.match(page.headers.get('content-type') ?? '', /text\/html/);
      assert.equal(page.headers.get('cache-control'), 'no-cache');
      const csp = page.headers.get('content-security-policy') ?? '';
      assert.match(csp, /default-src 'none'/);
      assert.match(csp, /script-src 'self'(;|$)/, 'no inline or remote script');
      assert.match(csp, /connect-src 'self'/);
      assert.match(csp, /frame-ancestors 'none'/);
      assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
      assert.match(await page.text(), /Annals admin/);

      const asset = await fetch(`${served.url}/ui/assets/index-AbCd1234.js`);
      assert.equal(asset.status, 200);
      assert.equal(asset.headers.get('cache-control'), 'public, max-age=31536000, immutable');
      assert.match(asset.headers.get('content-type') ?? '', /javascript/);

      const etag = page.headers.get('etag');
      assert.ok(etag);
      assert.equal((await httpCall(served.url, 'GET', '/ui/', { headers: { 'if-none-match': etag } })).status, 304);

      const bare = await fetch(`${served.url}/ui`, { redirect: 'manual' });
      assert.equal(bare.status, 301);
      assert.equal(bare.headers.get('location'), '/ui/');

      assert.equal((await fetch(`${served.url}/ui/missing.js`)).status, 404);
      for (const path of ['/ui/..%2F..%2Fpackage.json', '/ui/%2e%2e/%2e%2e/package.json'])
        assert.notEqual((await httpCall(served.url, 'GET', path)).status, 200, `${path} stays inside the UI's folder`);
      // The API beside it still needs a token.
      assert.equal((await fetch(`${served.url}/stats`)).status, 401);
    } finally {
      await served.client.close();
    }
  });

  it('say how to build the UI when it is not built', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'annals-ui-none-'));
    const served = await serveForTest(await openEventStore({ engine: 'memory' }), { authenticator, uiDir: empty });
    try {
      for (const path of ['/ui/', '/ui/assets/index-AbCd1234.js']) {
        const answer = await fetch(`${served.url}${path}`);
        assert.equal(answer.status, 503);
        assert.equal(answer.headers.get('cache-control'), 'no-store');
        assert.match(await answer.text(), /npm run build/);
      }
    } finally {
      await served.client.close();
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('serve no UI with uiDir false', async () => {
    const served = await serveForTest(await openEventStore({ engine: 'memory' }), { authenticator, uiDir: false });
    try {
      // No route: an unknown path, which (as everywhere) needs a token before it is found absent.
      assert.equal((await fetch(`${served.url}/ui/`)).status, 401);
      assert.equal((await httpCall(served.url, 'GET', '/ui/', { token })).status, 404);
    } finally {
      await served.client.close();
    }
  });
});
