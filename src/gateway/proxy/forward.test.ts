import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startGateway, startUpstream, type Upstream } from '../testing/upstreams.js';
import { until } from '../../testing/until.js';

const json = async (response: Response) => (await response.json()) as Record<string, unknown>;

describe('gateway proxying', () => {
  let a: Upstream, b: Upstream, other: Upstream;
  let gateway: Awaited<ReturnType<typeof startGateway>>;
  before(async () => {
    [a, b, other] = await Promise.all([startUpstream('a'), startUpstream('b'), startUpstream('other')]);
    gateway = await startGateway({
      routes: [
        { prefix: '/orders', upstreams: [a.url, b.url] },
        { prefix: '/other', upstreams: [other.url], rewritePrefix: '/v2', timeoutMs: 300 },
      ],
      health: { intervalMs: 100, timeoutMs: 200 },
      bodyLimitBytes: 1000,
    });
  });
  after(async () => {
    await gateway.close();
    await Promise.all([a, b, other].map((upstream) => upstream.app.close()));
  });

  it('routes by prefix, rewrites the prefix, and balances round-robin', async () => {
    const names = [];
    for (let i = 0; i < 4; i++) {
      const body = await json(await fetch(`${gateway.url}/orders/1?x=y`));
      assert.equal(body.url, '/orders/1?x=y');
      names.push(body.name);
    }
    assert.deepEqual(names.sort(), ['a', 'a', 'b', 'b']);
    const rewritten = await json(await fetch(`${gateway.url}/other/things`));
    assert.deepEqual([rewritten.name, rewritten.url], ['other', '/v2/things']);
  });

  it('passes bodies through, and refuses a too-large body with 413', async () => {
    const sent = await json(
      await fetch(`${gateway.url}/orders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}' }),
    );
    assert.deepEqual(sent.body, { a: 1 });
    const big = await fetch(`${gateway.url}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ x: 'y'.repeat(2000) }),
    });
    assert.equal(big.status, 413);
    assert.match(big.headers.get('content-type')!, /^application\/problem\+json/);
    assert.equal((await json(big)).code, 'payload_too_large');
  });

  it('answers 504 when an upstream is slower than the route allows', async () => {
    const started = Date.now();
    const response = await fetch(`${gateway.url}/other/slow`);
    assert.equal(response.status, 504);
    assert.equal((await json(response)).code, 'upstream_timeout');
    assert.ok(Date.now() - started < 1400, 'answered before the upstream did');
  });

  it('sets a correlation id and traceparent, forwards them, and keeps given ones', async () => {
    const response = await fetch(`${gateway.url}/orders/x`);
    const headers = (await json(response)).headers as Record<string, string>;
    assert.match(headers['x-correlation-id']!, /^[0-9a-f-]{36}$/);
    assert.equal(response.headers.get('x-correlation-id'), headers['x-correlation-id']);
    assert.match(headers.traceparent!, /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const given = await fetch(`${gateway.url}/orders/x`, { headers: { 'x-correlation-id': 'order-42', traceparent } });
    const forwarded = (await json(given)).headers as Record<string, string>;
    assert.deepEqual([forwarded['x-correlation-id'], forwarded.traceparent], ['order-42', traceparent]);
    assert.equal(given.headers.get('x-correlation-id'), 'order-42');
  });

  it('takes a closed instance out, keeps serving from the other, puts it back when it returns; 503 when none is healthy', async () => {
    const port = b.port;
    await b.app.close();
    for (let i = 0; i < 6; i++) {
      const response = await fetch(`${gateway.url}/orders/1`);
      assert.equal(response.status, 200);
      assert.equal((await json(response)).name, 'a');
    }
    const pool = gateway.pools.get('/orders')!;
    assert.equal(pool.instances.find((instance) => instance.url === b.url)!.healthy, false);
    b = await startUpstream('b', port);
    await until(() => pool.instances.every((instance) => instance.healthy), 'b back in rotation');
    const names = new Set<unknown>();
    for (let i = 0; i < 4; i++) names.add((await json(await fetch(`${gateway.url}/orders/1`))).name);
    assert.deepEqual([...names].sort(), ['a', 'b']);

    const otherPort = other.port;
    await other.app.close();
    const down = await fetch(`${gateway.url}/other/1`);
    assert.equal(down.status, 502);
    assert.equal((await json(down)).code, 'bad_gateway');
    const none = await fetch(`${gateway.url}/other/1`);
    assert.equal(none.status, 503);
    assert.match(none.headers.get('content-type')!, /^application\/problem\+json/);
    assert.equal((await json(none)).code, 'unavailable');
    other = await startUpstream('other', otherPort);
  });

  it('exports metrics by route, status and upstream, and upstream health', async () => {
    const text = await (await fetch(`${gateway.url}/metrics`)).text();
    assert.match(
      text,
      /annals_gateway_request_duration_seconds_count\{route="\/orders",status="200",upstream="http:\/\/127\.0\.0\.1:\d+"\} \d+/,
    );
    assert.match(text, /annals_gateway_upstream_healthy\{route="\/orders",upstream="http:\/\/127\.0\.0\.1:\d+"\} 1/);
  });

  it('answers unknown paths with a problem', async () => {
    const response = await fetch(`${gateway.url}/nowhere`);
    assert.equal(response.status, 404);
    assert.equal((await json(response)).code, 'not_found');
  });
});

describe('gateway load shedding, writes and its own paths', () => {
  let slow: Upstream, readOnly: Upstream;
  let gateway: Awaited<ReturnType<typeof startGateway>>;
  before(async () => {
    [slow, readOnly] = await Promise.all([startUpstream('slow'), startUpstream('read-only', 0, { readOnly: true })]);
    gateway = await startGateway({
      routes: [
        { prefix: '/slow', upstreams: [slow.url], maxInFlight: 1 },
        { prefix: '/replica', upstreams: [readOnly.url], writablePath: '/health/writable' },
      ],
      health: { intervalMs: 100, timeoutMs: 200 },
    });
  });
  after(async () => {
    await gateway.close();
    await Promise.all([slow, readOnly].map((upstream) => upstream.app.close()));
  });

  it('sheds load past maxInFlight with 503 and Retry-After, and counts it', async () => {
    const first = fetch(`${gateway.url}/slow`);
    await until(() => gateway.pools.get('/slow')!.instances[0]!.inFlight === 1, 'the first request in flight');
    const shed = await fetch(`${gateway.url}/slow`);
    assert.equal(shed.status, 503);
    assert.equal(shed.headers.get('retry-after'), '1');
    assert.match(String((await json(shed)).detail), /1 requests in flight; load shed/);
    assert.equal((await first).status, 200);
    assert.equal(gateway.pools.get('/slow')!.instances[0]!.inFlight, 0);
    assert.match(
      await (await fetch(`${gateway.url}/metrics`)).text(),
      /annals_gateway_refused_total\{route="\/slow",reason="saturated"\} 1/,
    );
  });

  it('sends writes only to writable instances: reads pass, writes are 503 while none is', async () => {
    await until(() => !gateway.pools.get('/replica')!.instances[0]!.writable, 'the writable check');
    assert.equal((await fetch(`${gateway.url}/replica/things`)).status, 200);
    const write = await fetch(`${gateway.url}/replica/things`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    assert.equal(write.status, 503);
    assert.match(String((await json(write)).detail), /read-only/);
  });

  it('keeps an instance that answers 503 in rotation, and takes out one that answers 500', async () => {
    const [instance] = gateway.pools.get('/slow')!.instances;
    assert.equal((await fetch(`${gateway.url}/slow/status/503`)).status, 503);
    assert.equal(instance!.healthy, true);
    assert.equal((await fetch(`${gateway.url}/slow/status/500`)).status, 500);
    assert.equal(instance!.healthy, false);
    await until(() => instance!.healthy, 'the health check to put it back');
  });

  it('drops internal headers a caller sends', async () => {
    const body = await json(await fetch(`${gateway.url}/replica/echo`, { headers: { 'x-annals-caller': 'admin' } }));
    assert.equal((body.headers as Record<string, unknown>)['x-annals-caller'], undefined);
  });

  it('answers /health/live and /health/ready itself', async () => {
    assert.deepEqual(await json(await fetch(`${gateway.url}/health/live`)), { status: 'live', pid: process.pid });
    assert.equal((await fetch(`${gateway.url}/health/ready`)).status, 200);
    await readOnly.app.close();
    await until(() => !gateway.pools.get('/replica')!.instances[0]!.healthy, 'the instance taken out');
    const ready = await fetch(`${gateway.url}/health/ready`);
    assert.equal(ready.status, 503);
    assert.deepEqual((await json(ready)).routesWithoutUpstream, ['/replica']);
  });
});
