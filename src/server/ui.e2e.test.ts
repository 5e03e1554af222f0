/**
 * The admin UI in a real browser (DESIGN.md section 12): Debian's Chromium driven by playwright-core
 * against a server with authentication on, serving a fresh build of ui/. A person signs in with a token,
 * reads the dashboard, browses a stream, watches a live event arrive in the tail, replays a parked event of
 * a consumer group and asks a projection to replay; a bad token goes back to sign in and a token limited to
 * prefixes sees 403s shown as notes. No page may break the Content-Security-Policy or throw. Every page
 * passes axe-core's WCAG 2 A/AA rules and best practices, and a person with only a keyboard can sign in,
 * reach a stream and back out of a confirmation.
 *
 * Screenshots are checked for content (many colours, not a blank page). `UPDATE_SCREENSHOTS=1` also saves
 * them as docs/screenshots/*.png for the README.
 *
 * Without Chromium the suite is skipped, loudly; in CI (`CI=true`) a missing Chromium fails it.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createAuthenticator } from '../auth/tokens.js';
import { openEventStore } from '../engines/open.js';
import { runnerReport } from '../projection/registry/conformance/suite.js';
import { reportToJson } from '../protocol/wire.js';
import { httpCall } from './testing/http.js';
import { serveForTest } from './testing/serve.js';
import { buildUi, chromiumPath } from './testing/ui.js';

const tokens = { admin: 'ui-e2e-admin-token-0123456789', orders: 'ui-e2e-orders-token-0123456789' };
const authenticator = createAuthenticator([
  { name: 'ops', role: 'admin', token: tokens.admin },
  { name: 'orders-reader', role: 'reader', token: tokens.orders, streams: ['order-'] },
]);
const screenshotsDir = fileURLToPath(new URL('../../docs/screenshots/', import.meta.url));
const saveScreenshots = process.env.UPDATE_SCREENSHOTS === '1';
// axe-core's rules: WCAG 2.0 to 2.2, levels A and AA, and its best practices (landmarks, heading order…).
// Run in the page by the driver, not added as a <script>: the page's Content-Security-Policy allows no inline script.
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const wcagTags = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'];

const executablePath = chromiumPath();
const missing =
  executablePath === undefined
    ? 'Chromium is not installed (looked at CHROMIUM_PATH or /usr/bin/chromium): apt-get install chromium to run the admin UI browser tests'
    : undefined;
if (missing !== undefined) {
  if (process.env.CI === 'true') {
    describe('admin UI in Chromium', () => {
      it('needs Chromium in CI', () => assert.fail(missing));
    });
  } else process.stderr.write(`\n!!! SKIPPED: ${missing}\n\n`);
}

describe('admin UI in Chromium', { skip: missing ?? false }, () => {
  let url: string;
  let close = async () => {};
  let browser: Browser;
  let page: Page;
  let uiDir: string;
  /** Messages of the page that mean something is wrong: CSP refusals, uncaught errors. */
  const problems: string[] = [];
  const call = (method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown, token = tokens.admin) =>
    httpCall(url, method, path, { token, body });

  before(async () => {
    uiDir = mkdtempSync(join(tmpdir(), 'annals-ui-e2e-'));
    // Built first: the server looks for the UI's index.html as it starts.
    await buildUi(uiDir);
    const served = await serveForTest(await openEventStore({ engine: 'memory' }), { authenticator, token: tokens.admin, uiDir });
    url = served.url;
    close = () => served.client.close();
    // A few streams, a consumer group with one parked event, and a projection whose runner has reported.
    const append = (stream: string, type: string, data: unknown) => call('POST', `/streams/${stream}`, { events: [{ type, data }] });
    assert.equal((await append('order-1', 'OrderPlaced', { orderId: 1, total: 30, lines: [{ sku: 'A-1', qty: 2 }] })).status, 200);
    assert.equal((await append('order-1', 'OrderPaid', { orderId: 1, method: 'card' })).status, 200);
    assert.equal((await append('order-2', 'OrderPlaced', { orderId: 2, total: 12 })).status, 200);
    assert.equal((await append('payment-7', 'PaymentCaptured', { amount: 30 })).status, 200);
    const metadata = { acl: { metaRead: { roles: ['admin'] } }, custom: { owner: 'sales' } };
    assert.equal((await call('PUT', '/streams/order-1/metadata', metadata)).status, 204);
    const snapshot = { revision: 1, schemaVersion: 1, state: { total: 30, paid: true } };
    assert.equal((await call('PUT', '/snapshots/order-1', snapshot)).status, 200);
    for (let i = 0; i < 30; i++) await append(`page-${String(i).padStart(2, '0')}`, 'Paged', { i });
    assert.equal((await call('PUT', '/groups/billing', { source: { category: 'order' } })).status, 201);
    const pulled = await call('POST', '/groups/billing/pull', { consumer: 'worker-1', max: 1 });
    const [delivery] = pulled.json().deliveries as { id: string }[];
    assert.ok(delivery, pulled.text);
    const parked = await call('POST', '/groups/billing/nack', { ids: [delivery.id], action: 'park', reason: 'no such customer' });
    assert.equal(parked.status, 200, parked.text);
    const { name: _name, runnerId: _runnerId, ...report } = reportToJson(runnerReport({ position: 4n }));
    assert.equal((await call('PUT', '/projections/orders/runners/runner-a', report)).status, 204);

    browser = await chromium.launch({ executablePath, args: ['--no-sandbox', '--disable-gpu'] });
    page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
    page.setDefaultTimeout(5000);
    page.on('pageerror', (error) => problems.push(`uncaught: ${error.message}`));
    page.on('console', (message) => {
      // A refused call (401, 403) is logged by Chromium as a failed resource: expected here, not a fault.
      if (message.type() === 'error' && !/Failed to load resource/.test(message.text())) problems.push(message.text());
    });
  });
  after(async () => {
    await browser?.close();
    await close();
    rmSync(uiDir, { recursive: true, force: true });
  });

  const nav = (name: string) => page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true }).click();

  /** Takes a screenshot and checks it shows a page, not a blank: many colours, a good share of ink. */
  const screenshot = async (name: string) => {
    const png = await page.screenshot({ fullPage: false });
    const blank = await browser.newPage();
    try {
      // Run in the page, as text: this file is compiled without the DOM's types.
      const { colours, ink } = (await blank.evaluate(`(async () => {
        const image = new Image();
        image.src = 'data:image/png;base64,${png.toString('base64')}';
        await image.decode();
        const canvas = document.createElement('canvas');
        canvas.width = image.width;
        canvas.height = image.height;
        const context = canvas.getContext('2d');
        context.drawImage(image, 0, 0);
        const { data } = context.getImageData(0, 0, image.width, image.height);
        const seen = new Set();
        let inked = 0;
        for (let i = 0; i < data.length; i += 4) {
          seen.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
          if (data[i] + data[i + 1] + data[i + 2] < 600) inked++;
        }
        return { colours: seen.size, ink: inked / (data.length / 4) };
      })()`)) as { colours: number; ink: number };
      assert.ok(colours > 20, `${name}: only ${colours} colours, a blank page?`);
      assert.ok(ink > 0.005, `${name}: only ${(ink * 100).toFixed(2)}% of pixels drawn`);
    } finally {
      await blank.close();
    }
    if (saveScreenshots) {
      mkdirSync(screenshotsDir, { recursive: true });
      writeFileSync(join(screenshotsDir, `${name}.png`), png);
    }
  };

  it('signs in with a token (a wrong one is refused), keeps it in sessionStorage only, and shows the dashboard', async () => {
    const started = performance.now();
    await page.goto(`${url}/ui/`);
    const tokenField = page.getByLabel('Token');
    await tokenField.waitFor();
    const loadMs = performance.now() - started;
    process.stderr.write(`admin UI: first page load ${loadMs.toFixed(0)} ms (sign-in form shown)\n`);

    await tokenField.fill('not-a-token-of-this-server');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'not accepted' }).waitFor();
    await screenshot('sign-in');

    await tokenField.fill(tokens.admin);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
    await page.getByTestId('engine').filter({ hasText: 'memory' }).waitFor();
    await page
      .getByTestId('events')
      .filter({ hasText: /^[1-9]/ })
      .waitFor();
    await page.getByText('Ready: reads and writes are served.').waitFor();
    await page
      .getByText(/^[\d.]+\/s$/)
      .first()
      .waitFor({ timeout: 8000 });
    assert.equal(await page.evaluate(() => sessionStorage.getItem('annals.token')), tokens.admin);
    assert.equal(await page.evaluate(() => localStorage.length), 0);
    assert.equal(await page.evaluate('document.cookie'), '');
    assert.ok(!page.url().includes(tokens.admin));
    await screenshot('dashboard');
  });

  /** Runs axe's WCAG 2 A and AA rules on what `target` shows now; fails listing each violation and where. */
  const audit = async (target: Page, what: string) => {
    if (!(await target.evaluate('typeof window.axe === "object"'))) await target.evaluate(axeSource);
    const violations = (await target.evaluate(`axe.run(document, { runOnly: { type: 'tag', values: ${JSON.stringify(wcagTags)} } })
      .then(({ violations }) => violations.map(({ id, help, nodes }) => ({
        id, help, nodes: nodes.map(({ target, failureSummary }) => target.join(' ') + ': ' + failureSummary),
      })))`)) as { id: string; help: string; nodes: string[] }[];
    assert.equal(
      violations.length,
      0,
      `${what}: ${violations.length} accessibility violation(s)\n` +
        violations.map(({ id, help, nodes }) => `- ${id}: ${help}\n    ${nodes.join('\n    ')}`).join('\n'),
    );
  };

  /** A page of its own (a tab: its own sessionStorage, so signed out), with the same checks for problems. */
  const freshPage = async () => {
    const other = await browser.newPage({ viewport: { width: 1200, height: 800 } });
    other.setDefaultTimeout(5000);
    other.on('pageerror', (error) => problems.push(`uncaught: ${error.message}`));
    other.on('console', (message) => {
      if (message.type() === 'error' && !/Failed to load resource/.test(message.text())) problems.push(message.text());
    });
    return other;
  };

  it("passes axe's WCAG 2 A and AA rules, and its best practices (landmarks, heading order), on every page", async () => {
    const other = await freshPage();
    try {
      await other.goto(`${url}/ui/`);
      await other.getByLabel('Token').waitFor();
      await audit(other, 'sign-in');
      await other.getByLabel('Token').fill('not-a-token-of-this-server');
      await other.getByRole('button', { name: 'Sign in' }).click();
      await other.getByRole('alert').waitFor();
      await audit(other, 'sign-in, token refused');
      await other.getByLabel('Token').fill(tokens.admin);
      await other.getByRole('button', { name: 'Sign in' }).click();
      await other.getByTestId('engine').waitFor();
      await other.getByText('Ready: reads and writes are served.').waitFor();
      await audit(other, 'dashboard');
      const visit = async (hash: string, ready: string, what: string) => {
        await other.goto(`${url}/ui/#/${hash}`);
        await other.getByText(ready).first().waitFor();
        await audit(other, what);
      };
      await visit('streams', 'page-00', 'streams');
      await visit('streams/order-1', 'OrderPaid', 'one stream');
      await other.getByText('OrderPlaced').click();
      await other.getByText('"sku": "A-1"').waitFor();
      await audit(other, 'one stream, an event opened');
      await other.getByRole('button', { name: 'Tombstone stream…' }).click();
      await other.getByRole('dialog').getByText('gone for good').waitFor();
      await audit(other, 'one stream, the confirmation dialog');
      await other.keyboard.press('Escape');
      await other.getByRole('dialog').waitFor({ state: 'hidden' });
      await other.goto(`${url}/ui/#/tail`);
      await other.getByTestId('tail-status').filter({ hasText: /^live/ }).waitFor();
      assert.equal((await call('POST', '/streams/audit-1', { events: [{ type: 'Audited', data: { ok: true } }] })).status, 200);
      await other.getByTestId('tail').getByText('Audited').waitFor();
      await audit(other, 'live tail');
      await visit('groups', 'billing', 'groups');
      await visit('groups/billing', 'no such customer', 'one group with parked events');
      await visit('projections', 'orders', 'projections');
      await visit('projections/orders', 'runner-a', 'one projection');
    } finally {
      await other.close();
    }
  });

  /** Presses Tab (Shift+Tab if `backwards`) until `name` (an accessible name) has the focus; fails after `max` presses. */
  const tabTo = async (target: Page, name: string | RegExp, { backwards = false, max = 40 } = {}) => {
    for (let press = 0; press < max; press++) {
      await target.keyboard.press(backwards ? 'Shift+Tab' : 'Tab');
      const focused = (await target.evaluate(`(() => {
        const element = document.activeElement;
        return (element?.getAttribute('aria-label') ?? element?.labels?.[0]?.textContent ?? element?.textContent ?? '').trim();
      })()`)) as string;
      if (typeof name === 'string' ? focused === name : name.test(focused)) return;
    }
    assert.fail(`${max} presses of Tab did not reach ${String(name)}`);
  };

  it('signs in and reaches a stream with the keyboard only; Escape closes a confirmation and gives the focus back', async () => {
    const other = await freshPage();
    try {
      await other.goto(`${url}/ui/`);
      await other.getByLabel('Token').waitFor();
      await other.keyboard.press('Tab');
      assert.equal(await other.evaluate('document.activeElement.id'), 'token');
      await other.keyboard.type(tokens.admin);
      await other.keyboard.press('Enter');
      await other.getByRole('heading', { name: 'Dashboard' }).waitFor();
      // The focus is on the page's content (moved there on every page); the menu is before it.
      await tabTo(other, 'Streams', { backwards: true });
      await other.keyboard.press('Enter');
      await other.getByRole('heading', { name: 'Streams' }).waitFor();
      await tabTo(other, 'Stream name prefix');
      await other.keyboard.type('order-');
      await other.keyboard.press('Enter');
      await other.getByRole('link', { name: 'payment-7' }).waitFor({ state: 'detached' });
      await tabTo(other, 'order-1');
      await other.keyboard.press('Enter');
      await other.getByRole('heading', { name: 'order-1' }).waitFor();
      await other.getByTestId('events').getByText('OrderPaid').waitFor();

      await tabTo(other, 'Tombstone stream…');
      await other.keyboard.press('Enter');
      const dialog = other.getByRole('dialog');
      await dialog.getByText('gone for good').waitFor();
      assert.equal(await other.evaluate('document.activeElement.textContent'), 'Cancel', 'the safe choice has the focus');
      await other.keyboard.press('Escape');
      await dialog.waitFor({ state: 'hidden' });
      assert.equal(await other.evaluate('document.activeElement.textContent'), 'Tombstone stream…', 'the focus is back on the button');
      assert.equal((await call('GET', '/streams/order-1')).status, 200);
    } finally {
      await other.close();
    }
  });

  it('lists streams by prefix and reads one: events with their JSON, metadata', async () => {
    await nav('Streams');
    await page.getByLabel('Stream name prefix').fill('order-');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByRole('link', { name: 'order-2' }).waitFor();
    assert.equal(await page.getByRole('link', { name: 'payment-7' }).count(), 0, 'the prefix narrows the list');
    await page.getByRole('link', { name: 'order-1' }).click();
    await page.getByRole('heading', { name: 'order-1' }).waitFor();
    const events = page.getByTestId('events');
    await events.getByText('OrderPaid').waitFor();
    await events.getByText('OrderPlaced').click();
    await events.getByText('"sku": "A-1"').waitFor();
    await page.getByText('"owner": "sales"').waitFor();
    await page.getByText('"paid": true').waitFor();
    await screenshot('stream');
  });

  it('asks before deleting a stream, and a cancelled dialog deletes nothing', async () => {
    await page.getByRole('button', { name: 'Tombstone stream…' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText('gone for good').waitFor();
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    assert.equal((await call('GET', '/streams/order-1')).status, 200);

    await page.goto(`${url}/ui/#/streams/order-2`);
    await page.getByRole('heading', { name: 'order-2' }).waitFor();
    await page.getByRole('button', { name: 'Delete stream…' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
    await page.getByText('order-2 is deleted.').waitFor();
    assert.equal((await call('GET', '/streams/order-2')).status, 404);
  });

  it('pages through the list of streams', async () => {
    await nav('Streams');
    await page.getByLabel('Stream name prefix').fill('page-');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByRole('link', { name: 'page-24' }).waitFor();
    assert.equal(await page.getByRole('link', { name: /^page-/ }).count(), 25);
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByRole('link', { name: 'page-29' }).waitFor();
    assert.equal(await page.getByRole('link', { name: /^page-/ }).count(), 5);
    assert.ok(await page.getByRole('button', { name: 'Next' }).isDisabled());
    await page.getByRole('button', { name: 'Previous' }).click();
    await page.getByRole('link', { name: 'page-00' }).waitFor();
  });

  it('shows a live event in the tail of $all as it is appended', async () => {
    await nav('Live tail');
    await page.getByTestId('tail-status').filter({ hasText: /^live/ }).waitFor();
    assert.equal((await call('POST', '/streams/order-3', { events: [{ type: 'OrderShipped', data: { carrier: 'post' } }] })).status, 200);
    const row = page.getByTestId('tail').getByRole('row').filter({ hasText: 'OrderShipped' });
    await row.waitFor();
    assert.match((await row.textContent()) ?? '', /order-3@0/);
    await page.getByTestId('tail-status').filter({ hasText: '1 event received' }).waitFor();
  });

  it('keeps up with 1,000 events a second: the newest 200 shown, the rest counted, all accounted for', async () => {
    const batches = 20;
    for (let batch = 0; batch < batches; batch++) {
      const started = performance.now();
      const events = Array.from({ length: 100 }, (_, i) => ({ type: 'TickRecorded', data: { batch, i, note: 'x'.repeat(64) } }));
      assert.equal((await call('POST', `/streams/tick-${batch % 4}`, { events })).status, 200);
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, 100 - (performance.now() - started))));
    }
    const status = page.getByTestId('tail-status');
    await status.filter({ hasText: '2,001 events received (newest 200 shown, 1,801 more not shown)' }).waitFor({ timeout: 10_000 });
    assert.equal(await page.getByTestId('tail').locator('tbody tr').count(), 200);
    assert.match((await page.getByTestId('tail').locator('tbody tr').first().textContent()) ?? '', /TickRecorded.*"batch":19,"i":99/);
    // How smoothly the page draws meanwhile is the ui bench's to measure (frame gaps), not a test's.
    await screenshot('tail');
  });

  it('filters the tail by type and stream prefix', async () => {
    await page.getByLabel('Event types').fill('OrderShipped, OrderPaid');
    await page.getByLabel('Stream prefixes').fill('order-');
    await page.getByRole('button', { name: 'Apply' }).click();
    const status = page.getByTestId('tail-status');
    await status.filter({ hasText: /^live · 0 events received/ }).waitFor();
    for (const [stream, type] of [
      ['tick-0', 'OrderShipped'],
      ['order-9', 'TickRecorded'],
      ['order-9', 'OrderPaid'],
    ])
      assert.equal((await call('POST', `/streams/${stream}`, { events: [{ type, data: {} }] })).status, 200);
    await status.filter({ hasText: '1 event received' }).waitFor();
    const rows = page.getByTestId('tail').locator('tbody tr');
    assert.equal(await rows.count(), 1);
    assert.match((await rows.first().textContent()) ?? '', /order-9@1OrderPaid/);
  });

  it('replays a parked event of a consumer group after confirming', async () => {
    await nav('Groups');
    await page.getByRole('link', { name: 'billing' }).click();
    await page.getByTestId('parked').getByText('no such customer').waitFor();
    // worker-1 pulled the event it then parked: nothing in flight.
    const consumer = page.getByTestId('consumers').getByRole('row').filter({ hasText: 'worker-1' });
    assert.match((await consumer.textContent()) ?? '', /^worker-10\d{4}-\d\d-\d\dT/);
    await page.getByRole('button', { name: 'Replay all parked…' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Replay' }).click();
    await page.getByText('1 parked event queued again.').waitFor();
    await page.getByText('No parked events.').waitFor();
    assert.equal((await call('GET', '/groups/billing')).json().parked, 0);
    await screenshot('group');
  });

  it('asks a projection to replay, and shows the request its runner will take', async () => {
    await nav('Projections');
    await page.getByRole('link', { name: 'orders' }).click();
    await page.getByRole('heading', { name: 'orders' }).waitFor();
    await page.getByRole('button', { name: 'Replay…' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Replay' }).click();
    await page.getByText(/Asked to replay/).waitFor();
    await page.getByTestId('requests').getByRole('row').filter({ hasText: 'pending' }).waitFor();
    const requests = (await call('GET', '/projections/orders')).json().requests as { kind: string; state: string }[];
    assert.deepEqual(
      requests.map(({ kind, state }) => [kind, state]),
      [['replay', 'pending']],
    );
    await screenshot('projection');
  });

  it('goes back to sign in on a 401, and shows 403s as notes for a token limited to prefixes', async () => {
    await page.evaluate(() => sessionStorage.setItem('annals.token', 'revoked-token-0123456789'));
    await page.goto(`${url}/ui/#/`);
    await page.reload();
    await page.getByRole('alert').filter({ hasText: 'Signed out' }).waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.getItem('annals.token')), null);

    await page.getByLabel('Token').fill(tokens.orders);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
    await page.getByText('This token may not see this').first().waitFor();
    await nav('Streams');
    await page.getByRole('link', { name: 'order-1' }).click();
    await page.getByTestId('events').getByText('OrderPaid').waitFor();
    // The stream's ACL keeps its metadata from this token: a note, not a failure.
    await page.getByText(/This token may not see this/).waitFor();
    await page.getByRole('link', { name: '← Streams' }).click();
    await page.getByRole('link', { name: 'order-1' }).waitFor();
    assert.equal(await page.getByRole('link', { name: 'payment-7' }).count(), 0, 'the server hides what the token may not read');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Token').waitFor();
  });

  it('broke no Content-Security-Policy rule and threw nothing', () => {
    assert.deepEqual(problems, []);
  });
});
