/**
 * What browsers and people who explore the API need: CORS for the origins the operator names (preflights
 * answered before authentication, everything else still behind tokens), an interactive reference at
 * /docs, and a root that says where to go.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { openEventStore } from '../engines/open.js';
import { createAuthenticator } from '../auth/tokens.js';
import { httpCall } from './testing/http.js';
import { serveForSuite, serveForTest } from './testing/serve.js';

const token = 'browser-admin-token-0123456789';
const origin = 'https://admin.example.com';

describe('browsers', () => {
  const suite = serveForSuite({
    authenticator: createAuthenticator([{ name: 'ui', role: 'admin', token }]),
    token,
    corsOrigins: [origin],
    version: '1.2.3',
  });

  it('answer a preflight from a named origin without a token, and only from that origin', async () => {
    const preflight = (from: string) =>
      fetch(`${suite.url}/streams/order-1`, {
        method: 'OPTIONS',
        headers: { origin: from, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
      });
    const allowed = await preflight(origin);
    assert.equal(allowed.status, 204);
    assert.equal(allowed.headers.get('access-control-allow-origin'), origin);
    assert.match(allowed.headers.get('access-control-allow-headers') ?? '', /authorization/);
    const other = await preflight('https://evil.example.com');
    assert.equal(other.headers.get('access-control-allow-origin'), null);
  });

  it('still need a token for the calls themselves', async () => {
    const refused = await fetch(`${suite.url}/streams/order-1`, { headers: { origin } });
    assert.equal(refused.status, 401);
    assert.equal(refused.headers.get('access-control-allow-origin'), origin, 'the page can read why');
    const allowed = await fetch(`${suite.url}/stats`, { headers: { origin, authorization: `Bearer ${token}` } });
    assert.equal(allowed.status, 200);
  });

  it('serve an interactive reference at /docs and say where to go at /', async () => {
    const docs = await fetch(`${suite.url}/docs/`);
    assert.equal(docs.status, 200);
    assert.match(await docs.text(), /swagger/i);
    assert.deepEqual((await httpCall(suite.url, 'GET', '/')).json(), {
      name: 'Annals',
      version: '1.2.3',
      docs: 'docs/',
      ui: 'ui/',
      openapi: 'openapi.json',
      health: 'health/ready',
    });
  });

  it('send no CORS headers unless origins are named', async () => {
    const store = await openEventStore({ engine: 'memory' });
    const plain = await serveForTest(store, { authenticator: createAuthenticator([{ name: 'ui', role: 'admin', token }]) });
    try {
      const answer = await fetch(`${plain.url}/health/live`, { headers: { origin } });
      assert.equal(answer.headers.get('access-control-allow-origin'), null);
    } finally {
      await plain.client.close();
    }
  });
});
