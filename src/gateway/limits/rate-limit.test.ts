import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { dropPrefix, freshPrefix, redisSkipReason, redisTestUrl } from '../../engines/redis/testing/test-redis.js';
import { startGateway, startUpstream, type Upstream } from '../testing/upstreams.js';

const tokens = ['first-token-of-16-chars', 'second-token-of-16-chars'];

const tokenFile = () => {
  const dir = mkdtempSync(join(tmpdir(), 'annals-gateway-'));
  const path = join(dir, 'tokens.json');
  writeFileSync(path, JSON.stringify({ tokens: tokens.map((token, index) => ({ name: `t${index}`, role: 'reader', token })) }));
  return path;
};

const assertLimited = async (response: Response) => {
  assert.equal(response.status, 429);
  assert.match(response.headers.get('content-type')!, /^application\/problem\+json/);
  assert.ok(Number(response.headers.get('retry-after')) >= 1, 'Retry-After in seconds');
  assert.ok(response.headers.get('ratelimit-limit') !== null, 'RateLimit-Limit');
  assert.equal(((await response.json()) as { code: string }).code, 'rate_limited');
};

describe('gateway rate limits', () => {
  let upstream: Upstream;
  before(async () => {
    upstream = await startUpstream('svc');
  });
  after(async () => upstream.app.close());

  it('limits each token on its own, and answers 429 with Retry-After', async () => {
    const gateway = await startGateway({
      routes: [{ prefix: '/api', upstreams: [upstream.url] }],
      auth: { tokens: tokenFile() },
      rateLimit: { perToken: 3, perAddress: 100, windowMs: 60_000 },
    });
    try {
      const call = (token: string) => fetch(`${gateway.url}/api/x`, { headers: { authorization: `Bearer ${token}` } });
      for (let i = 0; i < 3; i++) assert.equal((await call(tokens[0]!)).status, 200);
      await assertLimited(await call(tokens[0]!));
      assert.equal((await call(tokens[1]!)).status, 200, 'another token has its own limit');
    } finally {
      await gateway.close();
    }
  });

  it('limits each address, with or without a token', async () => {
    const gateway = await startGateway({
      routes: [{ prefix: '/api', upstreams: [upstream.url], auth: 'none' }],
      rateLimit: { perToken: 100, perAddress: 2, windowMs: 60_000 },
    });
    try {
      for (let i = 0; i < 2; i++) assert.equal((await fetch(`${gateway.url}/api/x`)).status, 200);
      await assertLimited(await fetch(`${gateway.url}/api/x`));
    } finally {
      await gateway.close();
    }
  });

  it('behind a trusted load balancer, limits the address X-Forwarded-For names', async () => {
    const gateway = await startGateway({
      routes: [{ prefix: '/api', upstreams: [upstream.url], auth: 'none' }],
      rateLimit: { perToken: 100, perAddress: 1, windowMs: 60_000 },
      trustProxy: ['127.0.0.1'],
    });
    try {
      const from = (address: string) => fetch(`${gateway.url}/api/x`, { headers: { 'x-forwarded-for': address } });
      assert.equal((await from('192.0.2.1')).status, 200);
      assert.equal((await from('192.0.2.2')).status, 200);
      await assertLimited(await from('192.0.2.1'));
    } finally {
      await gateway.close();
    }
  });

  it('shares the limits of two gateways through Redis', async (t) => {
    const skip = await redisSkipReason();
    if (skip !== undefined) return t.skip(skip);
    const prefix = freshPrefix();
    const config = {
      routes: [{ prefix: '/api', upstreams: [upstream.url], auth: 'none' }],
      rateLimit: { perToken: 100, perAddress: 4, windowMs: 60_000, redisUrl: redisTestUrl(), redisPrefix: prefix },
    };
    const [one, two] = await Promise.all([startGateway(config), startGateway(config)]);
    try {
      for (const gateway of [one, two, one, two]) assert.equal((await fetch(`${gateway.url}/api/x`)).status, 200);
      await assertLimited(await fetch(`${one.url}/api/x`));
      await assertLimited(await fetch(`${two.url}/api/x`));
    } finally {
      await Promise.all([one.close(), two.close()]);
      await dropPrefix(prefix);
    }
  });
});
