import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { startGateway, startUpstream, type Upstream } from '../testing/upstreams.js';

describe('gateway authentication', () => {
  let upstream: Upstream;
  let jwks: FastifyInstance;
  let privateKey: CryptoKey;
  let otherKey: CryptoKey;
  let gateway: Awaited<ReturnType<typeof startGateway>>;
  const token = 'a-token-of-at-least-16-chars';

  const sign = (key: CryptoKey, claims: { iss?: string; aud?: string; sub?: string } = {}) =>
    new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setSubject(claims.sub ?? 'alice')
      .setIssuer(claims.iss ?? 'https://idp.test')
      .setAudience(claims.aud ?? 'annals')
      .setExpirationTime('5m')
      .sign(key);

  before(async () => {
    upstream = await startUpstream('svc');
    const pair = await generateKeyPair('ES256');
    privateKey = pair.privateKey;
    otherKey = (await generateKeyPair('ES256')).privateKey;
    const publicJwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
    jwks = Fastify();
    jwks.get('/jwks.json', async () => ({ keys: [publicJwk] }));
    await jwks.listen({ host: '127.0.0.1', port: 0 });
    const dir = mkdtempSync(join(tmpdir(), 'annals-gateway-'));
    writeFileSync(join(dir, 'tokens.json'), JSON.stringify({ tokens: [{ name: 'orders-app', role: 'writer', token }] }));
    gateway = await startGateway({
      routes: [
        { prefix: '/annals', upstreams: [upstream.url], auth: 'annals' },
        { prefix: '/jwt', upstreams: [upstream.url], auth: 'jwt' },
        { prefix: '/open', upstreams: [upstream.url], auth: 'none' },
      ],
      auth: {
        tokens: join(dir, 'tokens.json'),
        jwt: {
          jwksUrl: `http://127.0.0.1:${(jwks.server.address() as { port: number }).port}/jwks.json`,
          issuer: 'https://idp.test',
          audience: 'annals',
        },
      },
    });
  });
  after(async () => {
    await gateway.close();
    await upstream.app.close();
    await jwks.close();
  });

  const call = (path: string, authorization?: string) =>
    fetch(`${gateway.url}${path}`, { headers: authorization === undefined ? {} : { authorization } });

  const refused = async (response: Response) => {
    assert.equal(response.status, 401);
    assert.match(response.headers.get('content-type')!, /^application\/problem\+json/);
    assert.equal(((await response.json()) as { code: string }).code, 'unauthenticated');
  };

  it('refuses a missing or unknown Annals token, and forwards a known one unchanged, naming the caller', async () => {
    await refused(await call('/annals/x'));
    await refused(await call('/annals/x', 'Bearer not-a-known-token-at-all'));
    const response = await call('/annals/x', `Bearer ${token}`);
    assert.equal(response.status, 200);
    const body = (await response.json()) as { headers: Record<string, string> };
    assert.equal(body.headers.authorization, `Bearer ${token}`);
    assert.equal(body.headers['x-annals-caller'], 'orders-app');
  });

  it('accepts a JWT signed by a key of the JWKS, and refuses a missing one, a foreign signature, a wrong audience or issuer', async () => {
    await refused(await call('/jwt/x'));
    await refused(await call('/jwt/x', `Bearer ${await sign(otherKey)}`));
    await refused(await call('/jwt/x', `Bearer ${await sign(privateKey, { aud: 'someone-else' })}`));
    await refused(await call('/jwt/x', `Bearer ${await sign(privateKey, { iss: 'https://evil.test' })}`));
    await refused(await call('/jwt/x', `Bearer ${token}`));
    assert.equal((await call('/jwt/x', `Bearer ${await sign(privateKey)}`)).status, 200);
  });

  it('answers 503 unavailable, not 401, when the JWKS cannot be fetched', async () => {
    const closed = Fastify();
    await closed.listen({ host: '127.0.0.1', port: 0 });
    const port = (closed.server.address() as { port: number }).port;
    await closed.close();
    const cut = await startGateway({
      routes: [{ prefix: '/jwt', upstreams: [upstream.url] }],
      auth: { jwt: { jwksUrl: `http://127.0.0.1:${port}/jwks.json`, issuer: 'https://idp.test', audience: 'annals' } },
    });
    try {
      const response = await fetch(`${cut.url}/jwt/x`, { headers: { authorization: `Bearer ${await sign(privateKey)}` } });
      assert.equal(response.status, 503);
      assert.equal(((await response.json()) as { code: string }).code, 'unavailable');
    } finally {
      await cut.close();
    }
  });

  it('lets requests through on routes without auth', async () => {
    assert.equal((await call('/open/x')).status, 200);
  });
});
