/**
 * The admin UI (DESIGN.md section 12) as a browser on loopback meets it: Debian's Chromium driven by
 * playwright-core against `annals serve`'s /ui/, with a fresh build of ui/.
 *
 * - First page load: a new browser context (empty cache) opens /ui/ until the sign-in form shows; the
 *   median of several loads. Beside it, the same browser opening /health/live of the same server: the
 *   cost of a navigation at all; and, in the details, the server's share (the same files fetched by Node,
 *   one after the other). Target: under 300 ms.
 * - What a first load downloads: the built files' bytes (index.html and assets), and gzipped for scale
 *   (the server sends them as they are). Target: under 500 KB.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { chromium, type Browser } from 'playwright-core';
import { createAuthenticator } from '../../src/auth/tokens.js';
import { openEventStore } from '../../src/engines/open.js';
import { serveForTest } from '../../src/server/testing/serve.js';
import { buildUi, chromiumPath } from '../../src/server/testing/ui.js';
import { percentile, type BenchContext, type BenchSuite, type Measurement } from '../harness.js';

const filesOf = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => (statSync(join(dir, name)).isDirectory() ? filesOf(join(dir, name)) : [join(dir, name)]));

/** Milliseconds from navigation to `ready` in a fresh context (no cache), `times` over. */
const loads = async (browser: Browser, url: string, ready: string | undefined, times: number): Promise<number[]> => {
  const samples: number[] = [];
  for (let i = 0; i < times; i++) {
    const context = await browser.newContext();
    const page = await context.newPage();
    const start = performance.now();
    await page.goto(url, { waitUntil: ready === undefined ? 'load' : 'commit' });
    if (ready !== undefined) await page.getByLabel(ready).waitFor();
    samples.push(performance.now() - start);
    await context.close();
  }
  return samples;
};

const run = async (context: BenchContext): Promise<Measurement[]> => {
  const dir = context.tempDir();
  context.progress('building the UI');
  await buildUi(dir);
  const files = filesOf(dir);
  const bytes = files.reduce((sum, file) => sum + statSync(file).size, 0);
  const gzipped = files.reduce((sum, file) => sum + gzipSync(readFileSync(file)).length, 0);

  const token = 'bench-ui-admin-token-0123456789';
  const served = await serveForTest(await openEventStore({ engine: 'memory' }), {
    authenticator: createAuthenticator([{ name: 'bench', role: 'admin', token }]),
    token,
    uiDir: dir,
  });
  const browser = await chromium.launch({ executablePath: chromiumPath(), args: ['--no-sandbox', '--disable-gpu'] });
  try {
    const times = Math.max(3, Math.round(context.scale * 20));
    context.progress(`loading /ui/ ${times} times, each in a fresh browser context`);
    // One load first: the browser's own start-up is not the page's.
    await loads(browser, `${served.url}/ui/`, 'Token', 1);
    const ui = await loads(browser, `${served.url}/ui/`, 'Token', times);
    const bare = await loads(browser, `${served.url}/health/live`, undefined, times);
    // The server's share: the same files fetched by Node over loopback, one after the other.
    const paths = files.map((file) => `/ui/${file.slice(dir.length + 1).replace(/index\.html$/, '')}`);
    const serverMs: number[] = [];
    for (let i = 0; i < times; i++) {
      const start = performance.now();
      for (const path of paths) await (await fetch(`${served.url}${path}`)).arrayBuffer();
      serverMs.push(performance.now() - start);
    }
    return [
      {
        name: 'admin UI first page load from loopback, to the sign-in form (empty cache)',
        unit: 'ms',
        value: percentile(ui, 50),
        limit: { name: 'the same browser loading /health/live', value: percentile(bare, 50) },
        target: '<= 300',
        details: { p90Ms: percentile(ui, 90), maxMs: Math.max(...ui), loads: times, serverP50Ms: percentile(serverMs, 50) },
      },
      {
        name: `admin UI files a first load downloads (${files.length} files)`,
        unit: 'KB',
        value: bytes / 1000,
        target: '<= 500',
        details: {
          gzippedKB: Math.round(gzipped / 100) / 10,
          ...Object.fromEntries(files.map((f) => [f.slice(dir.length + 1), statSync(f).size])),
        },
      },
    ];
  } finally {
    await browser.close();
    await served.client.close();
  }
};

export const suite: BenchSuite = {
  name: 'ui',
  unavailable: async () => (chromiumPath() === undefined ? 'no Chromium (apt-get install chromium, or set CHROMIUM_PATH)' : undefined),
  run,
};
