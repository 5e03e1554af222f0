/**
 * The admin UI (DESIGN.md section 12) as a browser on loopback meets it: Debian's Chromium driven by
 * playwright-core against `annals serve`'s /ui/, with a fresh build of ui/.
 *
 * - First page load: a new browser context (empty cache) opens /ui/ until its document has loaded, by
 *   when the module script has rendered the sign-in form (checked); the median of several loads, and the
 *   page's own navigation timing. Beside it, the same browser opening /health/live of the same server: the
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

/**
 * Milliseconds from navigation until the page is ready, in a fresh context (no cache), `times` over; and
 * the page's own figure (navigation start to DOMContentLoaded, by when the UI's module script has run and
 * rendered). `form`: an element id that must be there then (checked after the clock stops).
 */
const loads = async (browser: Browser, url: string, form: string | undefined, times: number) => {
  const wall: number[] = [];
  const inPage: number[] = [];
  for (let i = 0; i < times; i++) {
    const context = await browser.newContext();
    const page = await context.newPage();
    const start = performance.now();
    await page.goto(url, { waitUntil: form === undefined ? 'load' : 'domcontentloaded' });
    wall.push(performance.now() - start);
    if (form !== undefined) {
      const [shown, ms] = (await page.evaluate(
        `[document.getElementById(${JSON.stringify(form)}) !== null, performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd]`,
      )) as [boolean, number];
      if (!shown) throw new Error(`${url}: no #${form} when the document had loaded`);
      inPage.push(ms);
    }
    await context.close();
  }
  return { wall, inPage };
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
    await loads(browser, `${served.url}/ui/`, 'token', 1);
    const { wall: ui, inPage } = await loads(browser, `${served.url}/ui/`, 'token', times);
    const { wall: bare } = await loads(browser, `${served.url}/health/live`, undefined, times);
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
        details: {
          p90Ms: percentile(ui, 90),
          maxMs: Math.max(...ui),
          loads: times,
          inPageP50Ms: percentile(inPage, 50),
          serverP50Ms: percentile(serverMs, 50),
        },
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
