/**
 * The registry's routes as any HTTP client sees them: who may call what, bad input refused as a 400
 * naming the field (never a 5xx), 202 with a requestId for control calls, 204 for a claim with nothing
 * pending, positions as strings.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { createAuthenticator } from '../auth/tokens.js';
import { openEventStore } from '../engines/open.js';
import { runnerReport } from '../projection/registry/conformance/suite.js';
import { reportToJson } from '../protocol/wire.js';
import { withSeed } from '../testing/seed.js';
import { httpCall, type Answer } from './testing/http.js';
import { serveForTest } from './testing/serve.js';

const tokens = {
  admin: 'admin-token-0123456789',
  reader: 'reader-token-0123456789',
  ordersAdmin: 'orders-admin-0123456789',
  ordersReader: 'orders-reader-0123456789',
};
const authenticator = createAuthenticator([
  { name: 'admin', role: 'admin', token: tokens.admin },
  { name: 'reader', role: 'reader', token: tokens.reader },
  { name: 'orders-admin', role: 'admin', token: tokens.ordersAdmin, streams: ['order-'] },
  { name: 'orders-reader', role: 'reader', token: tokens.ordersReader, streams: ['order-'] },
]);

const problem = (answer: Answer, status: number, code: string, detail?: RegExp) => {
  assert.equal(answer.status, status, answer.text);
  assert.equal(answer.headers['content-type'], 'application/problem+json; charset=utf-8');
  assert.equal(answer.json().code, code);
  if (detail !== undefined) assert.match(answer.json().detail, detail);
};

describe('projection registry over HTTP', () => {
  let url: string;
  let close: () => Promise<void>;
  const call = (method: 'GET' | 'POST' | 'PUT', path: string, token: string, body?: unknown) =>
    httpCall(url, method, path, { token, body });

  before(async () => {
    const served = await serveForTest(await openEventStore({ engine: 'memory' }), { authenticator, token: tokens.admin });
    url = served.url;
    close = () => served.client.close();
    const { name: _name, runnerId: _runnerId, ...report } = reportToJson(runnerReport({ position: 2n ** 63n - 1n }));
    assert.equal((await call('PUT', '/projections/orders/runners/runner-a', tokens.admin, report)).status, 204);
  });
  after(() => close());

  it('reads with any unlimited token; positions are strings', async () => {
    const listed = await call('GET', '/projections', tokens.reader);
    assert.equal(listed.status, 200, listed.text);
    assert.equal(listed.json().projections[0].position, '9223372036854775807');
    const info = await call('GET', '/projections/orders', tokens.reader);
    assert.deepEqual([info.json().name, info.json().state, info.json().requests], ['orders', 'running', []]);
    problem(await call('GET', '/projections', tokens.ordersReader), 403, 'access_denied');
    problem(await call('GET', '/projections/orders', tokens.ordersAdmin), 403, 'access_denied');
    problem(await httpCall(url, 'GET', '/projections'), 401, 'unauthenticated');
  });

  it('exports what runners report as metrics, read from the registry at each scrape', async () => {
    const text = (await call('GET', '/metrics', tokens.admin)).text;
    assert.match(text, /annals_projection_lag\{projection="orders"\} \d+/);
    assert.match(text, /annals_projection_lag_events\{projection="orders",version="\d+"\} \d+/);
    assert.match(text, /annals_projection_progress_ratio\{projection="orders"\} [\d.]+/);
    assert.match(text, /annals_projection_state\{projection="orders",state="running"\} 1/);
    assert.match(text, /annals_projection_state\{projection="orders",state="failed"\} 0/);
    assert.match(text, /annals_projection_heartbeat_age_seconds\{projection="orders"\} [\d.]+/);
  });

  it('control and runner calls take an unlimited admin', async () => {
    problem(await call('POST', '/projections/orders/pause', tokens.reader), 403, 'access_denied');
    problem(await call('POST', '/projections/orders/pause', tokens.ordersAdmin), 403, 'access_denied');
    problem(await call('POST', '/projections/orders/claim', tokens.reader, { runnerId: 'r' }), 403, 'access_denied');
    problem(await call('PUT', '/projections/orders/runners/runner-x', tokens.ordersAdmin, {}), 403, 'access_denied');
  });

  it('a request goes from 202 through a claim to settled; nothing pending claims as 204', async () => {
    const asked = await call('POST', '/projections/orders/replay', tokens.admin, { from: '3', to: '9', stream: 'order-1' });
    assert.equal(asked.status, 202, asked.text);
    const { requestId } = asked.json();
    problem(await call('POST', '/projections/orders/replay', tokens.admin), 409, 'conflict', new RegExp(`pending: ${requestId}`));
    const claimed = await call('POST', '/projections/orders/claim', tokens.admin, { runnerId: 'runner-a' });
    assert.equal(claimed.status, 200, claimed.text);
    assert.deepEqual([claimed.json().requestId, claimed.json().options], [requestId, { from: '3', to: '9', stream: 'order-1' }]);
    assert.equal((await call('POST', '/projections/orders/claim', tokens.admin, { runnerId: 'runner-a' })).status, 204);
    const settle = `/projections/orders/requests/${requestId}/settle`;
    problem(await call('POST', settle, tokens.admin, { state: 'done', runnerId: 'runner-b' }), 409, 'conflict');
    assert.equal((await call('POST', settle, tokens.admin, { state: 'done', runnerId: 'runner-a' })).status, 204);
    const followed = await call('GET', `/projections/orders/requests/${requestId}`, tokens.reader);
    assert.deepEqual([followed.json().state, followed.json().claimedBy], ['done', 'runner-a']);
    for (const kind of ['pause', 'resume', 'cancel'])
      assert.equal((await call('POST', `/projections/orders/${kind}`, tokens.admin)).status, 202);
    assert.equal((await call('POST', '/projections/orders/drop', tokens.admin, { version: 7 })).status, 202);
    problem(await call('POST', '/projections/orders/drop', tokens.admin, { version: 1 }), 409, 'conflict');
  });

  it('bad input is a 400 naming the field, an unknown projection a 404', async () => {
    problem(await call('GET', '/projections/9lives', tokens.reader), 400, 'invalid_argument', /^name is '9lives'/);
    problem(await call('POST', '/projections/orders/replay', tokens.admin, { from: '-1' }), 400, 'invalid_argument', /from/);
    problem(await call('POST', '/projections/orders/replay', tokens.admin, { from: '9', to: '2' }), 400, 'invalid_argument', /^from is 9/);
    problem(await call('POST', '/projections/orders/replay', tokens.admin, { fromTime: 'noon' }), 400, 'invalid_argument', /^fromTime/);
    problem(await call('POST', '/projections/orders/replay', tokens.admin, { colour: 'red' }), 400, 'invalid_argument', /colour/);
    problem(await call('POST', '/projections/orders/replay', tokens.admin, '{"from":'), 400, 'invalid_argument');
    problem(await call('POST', '/projections/orders/drop', tokens.admin, { version: 'one' }), 400, 'invalid_argument', /version/);
    problem(await call('POST', '/projections/orders/drop', tokens.admin, { version: 0 }), 400, 'invalid_argument', /^version is 0/);
    problem(await call('GET', '/projections/orders/requests/nope', tokens.reader), 400, 'invalid_argument', /^requestId/);
    problem(await call('POST', '/projections/orders/claim', tokens.admin, {}), 400, 'invalid_argument', /runnerId/);
    const settle = '/projections/orders/requests/00000000-0000-4000-8000-000000000000/settle';
    problem(await call('POST', settle, tokens.admin, { state: 'pending' }), 400, 'invalid_argument', /state/);
    problem(await call('POST', settle, tokens.admin, { state: 'done' }), 404, 'not_found');
    problem(await call('PUT', '/projections/orders/runners/runner-a', tokens.admin, { version: 1 }), 400, 'invalid_argument');
    const { runnerId: _runnerId, ...report } = reportToJson(runnerReport());
    problem(
      await call('PUT', '/projections/orders/runners/runner-a', tokens.admin, { ...report, name: 'other' }),
      400,
      'invalid_argument',
      /^report\.name is 'other'/,
    );
    problem(
      await call('PUT', '/projections/orders/runners/runner-a', tokens.admin, { ...report, heartbeatSeconds: 0 }),
      400,
      'invalid_argument',
      /heartbeatSeconds/,
    );
    problem(await call('GET', '/projections/nobody', tokens.reader), 404, 'not_found', /no runner ever reported/);
    problem(await call('POST', '/projections/nobody/replay', tokens.admin, {}), 404, 'not_found');
  });

  it('random bodies, names and ids: never a 5xx, every refusal a problem', () =>
    withSeed(import.meta.url, async (seed) => {
      const { runnerId: _runnerId, ...report } = reportToJson(runnerReport());
      const names = fc.oneof(
        fc.constantFrom('orders', 'nobody', '9lives', '%24sys', '%FF', 'a%20b'),
        fc.string({ maxLength: 70 }).map(encodeURIComponent),
      );
      const ids = fc.oneof(fc.uuid(), fc.constantFrom('x', '%00', '00000000-0000-4000-8000-000000000000'));
      const positions = fc.oneof(fc.bigInt({ min: -5n, max: 2n ** 64n }).map(String), fc.integer(), fc.constantFrom('', 'x', null));
      const bodies = fc.oneof(
        fc.jsonValue({ maxDepth: 3 }),
        fc.record(
          {
            from: positions,
            to: positions,
            stream: fc.string(),
            category: fc.string(),
            fromTime: fc.oneof(fc.string(), fc.date().map(String)),
            rebuild: fc.anything({ maxDepth: 0 }),
          },
          { requiredKeys: [] },
        ),
        fc.record({ version: fc.oneof(fc.integer(), fc.double(), fc.string()) }, { requiredKeys: [] }),
        fc.record(
          {
            state: fc.constantFrom('running', 'done', 'failed', 'x'),
            runnerId: fc.string(),
            error: fc.anything({ maxDepth: 1 }),
            progress: fc.jsonValue({ maxDepth: 2 }),
          },
          { requiredKeys: [] },
        ),
        fc.record(
          {
            ...Object.fromEntries(Object.entries(report).map(([key, value]) => [key, fc.constant(value)])),
            position: positions,
            heartbeatSeconds: fc.oneof(fc.double(), fc.integer()),
            lag: fc.oneof(fc.double(), fc.integer()),
          },
          { requiredKeys: [] },
        ),
        fc.string({ unit: 'binary', maxLength: 50 }),
      );
      const calls = fc.oneof(
        fc.tuple(
          fc.constant('GET' as const),
          names.map((name) => `/projections/${name}`),
        ),
        fc.tuple(
          fc.constant('GET' as const),
          fc.tuple(names, ids).map(([name, id]) => `/projections/${name}/requests/${id}`),
        ),
        fc.tuple(
          fc.constant('POST' as const),
          fc
            .tuple(names, fc.constantFrom('replay', 'pause', 'resume', 'cancel', 'drop', 'claim'))
            .map(([name, kind]) => `/projections/${name}/${kind}`),
        ),
        fc.tuple(
          fc.constant('POST' as const),
          fc.tuple(names, ids).map(([name, id]) => `/projections/${name}/requests/${id}/settle`),
        ),
        fc.tuple(
          fc.constant('PUT' as const),
          fc
            .tuple(names, fc.string({ maxLength: 30 }))
            .map(([name, runner]) => `/projections/${name}/runners/${encodeURIComponent(runner) || 'r'}`),
        ),
      );
      await fc.assert(
        fc.asyncProperty(calls, fc.option(bodies, { nil: undefined }), async ([method, path], body) => {
          const answer = await httpCall(url, method, path, {
            token: tokens.admin,
            ...(body === undefined || method === 'GET' ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
          });
          assert.ok(answer.status < 500, `${method} ${path} ${JSON.stringify(body)}: ${answer.status} ${answer.text}`);
          if (answer.status >= 400) assert.equal(answer.headers['content-type'], 'application/problem+json; charset=utf-8');
        }),
        { seed, numRuns: 400 },
      );
    }));
});
