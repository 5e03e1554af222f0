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
 * - The live tail under load: signed in on the tail of $all while 1,000 events a second are appended over
 *   HTTP (batches of 10, paced, for 10 s × scale, at least 2 s). Measured in the page: the events it
 *   accounted for (rows shown plus the count of those not shown) over those appended, which must reach all
 *   of them; and the gaps between animation frames (requestAnimationFrame's timestamps), the longest and
 *   the p99, beside the same page's gaps while idle for as long, the limit underneath. Target: no gap over
 *   100 ms.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { chromium, type Browser } from 'playwright-core';
import { createAuthenticator } from '../../src/auth/tokens.js';
import { openEventStore } from '../../src/engines/open.js';
import { serveForTest } from '../../src/server/testing/serve.js';
import { httpCall } from '../../src/server/testing/http.js';
import { buildUi, chromiumPath } from '../../src/server/testing/ui.js';
import { percentile, type BenchContext, type BenchSuite, type Measurement } from '../harness.js';
import { eventData, paced } from '../workload.js';

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

/** Gaps between successive animation frames of the page, from the timestamps its probe collected. */
const frameGaps = (timestamps: number[]) => timestamps.slice(1).map((t, i) => t - timestamps[i]!);

/** In the page: starts collecting requestAnimationFrame timestamps; `stopFrames` returns them and stops. */
const startFrames = `(() => {
  const frames = (window.__frames = []);
  const tick = (t) => {
    if (window.__frames !== frames) return;
    frames.push(t);
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
})()`;
const stopFrames = `(() => { const frames = window.__frames; window.__frames = undefined; return frames; })()`;

/** In the page: the events the tail accounts for, the rows it shows plus the count it says it does not show. */
const accounted = `(() => {
  const rows = document.querySelectorAll('[data-testid="tail"] tbody tr').length;
  const hidden = /([\\d,]+) more not shown/.exec(document.querySelector('[data-testid="tail-status"]').textContent);
  return rows + (hidden === null ? 0 : Number(hidden[1].replaceAll(',', '')));
})()`;

const perSecond = 1000;
const batch = 10;

/** The tail of $all in a signed-in page while `perSecond` events a second are appended; see the file's comment. */
const tailUnderLoad = async (browser: Browser, url: string, token: string, context: BenchContext): Promise<Measurement[]> => {
  const seconds = Math.max(2, 10 * context.scale);
  const batches = Math.round((seconds * perSecond) / batch);
  const total = batches * batch;
  const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
  try {
    await page.goto(`${url}/ui/`);
    await page.getByLabel('Token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
    await page.goto(`${url}/ui/#/tail`);
    await page.getByTestId('tail-status').filter({ hasText: /^live/ }).waitFor();

    context.progress(`live tail: the page idle for ${seconds} s`);
    await page.evaluate(startFrames);
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
    const idle = frameGaps((await page.evaluate(stopFrames)) as number[]);

    context.progress(`live tail: appending ${total.toLocaleString('en')} events at ${perSecond}/s in batches of ${batch}`);
    await page.evaluate(startFrames);
    const started = performance.now();
    await paced(batches, perSecond / batch, async (index) => {
      const events = Array.from({ length: batch }, (_, i) => ({ type: 'OrderPlaced', data: eventData(index * batch + i) }));
      const answer = await httpCall(url, 'POST', `/streams/tail-${index % 10}`, { token, body: { events } });
      if (answer.status !== 200) throw new Error(`append: ${answer.status} ${answer.text}`);
    });
    const appendedMs = performance.now() - started;
    // The page may still be drawing the last events; it has a few seconds to account for all of them.
    let seen = 0;
    for (const until = performance.now() + 10_000; performance.now() < until; await new Promise((resolve) => setTimeout(resolve, 20))) {
      seen = (await page.evaluate(accounted)) as number;
      if (seen >= total) break;
    }
    const drainMs = performance.now() - started - appendedMs;
    const busy = frameGaps((await page.evaluate(stopFrames)) as number[]);
    const name = `admin UI live tail at ${perSecond.toLocaleString('en')} events/s`;
    return [
      {
        name: `${name}: events the page accounted for (shown + counted) over those appended`,
        unit: 'x',
        value: seen / total,
        target: '>= 1',
        details: { appended: total, accounted: seen, appendedRate: Math.round(total / (appendedMs / 1000)), drainMs: Math.round(drainMs) },
      },
      {
        name: `${name}: longest gap between animation frames`,
        unit: 'ms',
        value: Math.max(...busy),
        limit: { name: 'the same page idle: longest gap between animation frames', value: Math.max(...idle) },
        target: '<= 100',
        details: { frames: busy.length + 1, meanGapMs: busy.reduce((sum, gap) => sum + gap, 0) / busy.length, idleFrames: idle.length + 1 },
      },
      {
        name: `${name}: p99 gap between animation frames`,
        unit: 'ms',
        value: percentile(busy, 99),
        limit: { name: 'the same page idle: p99 gap between animation frames', value: percentile(idle, 99) },
        details: { p50Ms: percentile(busy, 50), idleP50Ms: percentile(idle, 50) },
      },
    ];
  } finally {
    await page.close();
  }
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
    const tail = await tailUnderLoad(browser, served.url, token, context);
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
      ...tail,
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
