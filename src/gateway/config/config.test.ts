import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadGatewayConfig, parseGatewayConfig } from './config.js';

const valid = { listen: { port: 8080 }, routes: [{ prefix: '/orders', upstreams: ['http://127.0.0.1:3001'] }] };

describe('gateway config', () => {
  it('fills in defaults', () => {
    assert.deepEqual(parseGatewayConfig(valid).listen, { host: '127.0.0.1', port: 8080 });
  });

  it('refuses a bad config naming the field', () => {
    const refusals: [unknown, RegExp][] = [
      [{ ...valid, listen: { port: 'x' } }, /listen\.port is "x"/],
      [
        { ...valid, routes: [{ prefix: 'orders', upstreams: ['http://127.0.0.1:3001'] }] },
        /routes\[0\]\.prefix is "orders".*a path starting with '\/'/,
      ],
      [{ ...valid, routes: [{ prefix: '/o', upstreams: ['ftp://x'] }] }, /routes\[0\]\.upstreams\[0\] is "ftp:\/\/x".*http/],
      [{ ...valid, routes: [{ prefix: '/o', upstreams: [] }] }, /routes\[0\]\.upstreams/],
      [{ ...valid, routes: [{ prefix: '/o', upstreams: ['http://a'], auth: 'basic' }] }, /routes\[0\]\.auth is "basic"/],
      [{ ...valid, rateLimit: { perToken: 0, perAddress: 1, windowMs: 1000 } }, /rateLimit\.perToken is 0/],
      [{ ...valid, listen: undefined }, /listen is missing/],
      [{ ...valid, colour: 'red' }, /colour/],
      [
        { ...valid, routes: [{ prefix: '/o', upstreams: ['http://a'], auth: 'jwt' }] },
        /routes\[0\]\.auth is 'jwt' but auth\.jwt is missing/,
      ],
      [{ ...valid, routes: [valid.routes[0], valid.routes[0]] }, /routes\[1\]\.prefix '\/orders' is given twice/],
    ];
    for (const [config, message] of refusals) assert.throws(() => parseGatewayConfig(config), message, JSON.stringify(config));
  });

  it('names the file when it is not JSON', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'annals-gateway-')), 'gateway.json');
    writeFileSync(path, '{ nope');
    assert.throws(() => loadGatewayConfig(path), /gateway\.json could not be read as JSON/);
  });
});

describe('docs/gateway.md', () => {
  it('shows a config the gateway accepts', () => {
    const page = readFileSync(join(import.meta.dirname, '../../../docs/gateway.md'), 'utf8');
    const block = /```json\n([\s\S]*?)\n```/.exec(page);
    assert.ok(block, 'an example config');
    const config = parseGatewayConfig(JSON.parse(block[1]!));
    assert.equal(config.routes.length, 3);
  });
});
