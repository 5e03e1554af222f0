import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createAuthenticator, loadTokens } from './tokens.js';

const dir = mkdtempSync(join(tmpdir(), 'annals-tokens-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('tokens', () => {
  it('creates an admin token on first start, readable by its owner only, and reuses it after', () => {
    const dataDir = join(dir, 'first');
    const first = loadTokens({ dataDir });
    assert.equal(first.created, join(dataDir, 'tokens.json'));
    assert.equal(statSync(first.created).mode & 0o777, 0o600);
    assert.equal(statSync(dataDir).mode & 0o777, 0o700, 'a data folder it creates is private');
    const token = JSON.parse(readFileSync(first.created, 'utf8')).tokens[0].token as string;
    assert.ok(token.length >= 40);
    const again = loadTokens({ dataDir });
    assert.equal(again.created, undefined);
    assert.deepEqual(createAuthenticator(again.entries).authenticate(`Bearer ${token}`), {
      name: 'admin',
      role: 'admin',
      streams: undefined,
    });
  });

  it('reads tokens from a file and from ANNALS_TOKENS, plain or as SHA-256 digests', () => {
    const file = join(dir, 'tokens.json');
    writeFileSync(file, JSON.stringify({ tokens: [{ name: 'svc', role: 'writer', streams: ['order-'], token: 'service-token-0123' }] }));
    const sha256 = createHash('sha256').update('reader-token-0123456').digest('hex');
    const { entries, created } = loadTokens({ file, env: JSON.stringify([{ name: 'ops', role: 'reader', sha256 }]), dataDir: dir });
    assert.equal(created, undefined);
    const auth = createAuthenticator(entries);
    assert.equal(auth.authenticate('Bearer service-token-0123').name, 'svc');
    assert.deepEqual(auth.authenticate('bearer reader-token-0123456'), { name: 'ops', role: 'reader', streams: undefined });
    assert.throws(() => auth.authenticate('Bearer service-token-0124'), { code: 'unauthenticated' });
    assert.throws(() => auth.authenticate(undefined), { code: 'unauthenticated' });
    assert.throws(() => auth.authenticate('service-token-0123'), { code: 'unauthenticated' });
  });

  it('refuses an ambiguous configuration, naming the entries and never the secret', () => {
    const file = join(dir, 'ambiguous.json');
    const secret = 'shared-secret-0123456789';
    const sha256 = createHash('sha256').update(secret).digest('hex');
    const cases: [unknown[], unknown[], RegExp][] = [
      [
        [
          { name: 'a', role: 'reader', token: secret },
          { name: 'b', role: 'admin', token: secret },
        ],
        [],
        /token 'b' \(entry 1\) has the same secret as .*token 'a' \(entry 0\)/,
      ],
      [
        [{ name: 'a', role: 'reader', token: secret }],
        [{ name: 'b', role: 'admin', sha256 }],
        /token 'b' \(entry 0\) has the same secret as ANNALS_TOKENS: token 'a'/,
      ],
      [
        [
          { name: 'a', role: 'reader', token: 'one-secret-0123456789' },
          { name: 'a', role: 'writer', token: 'other-secret-0123456789' },
        ],
        [],
        /token 'a' \(entry 1\) has the same name/,
      ],
      [
        [{ name: 'a', role: 'reader', token: secret, streams: [''] }],
        [],
        /empty prefix in 'streams': to allow every stream, leave 'streams' out/,
      ],
      [[{ name: 'a', role: 'reader', token: secret, streams: ['order-', 'order-'] }], [], /prefix 'order-' twice/],
    ];
    for (const [fromEnv, fromFile, message] of cases) {
      writeFileSync(file, JSON.stringify({ tokens: fromFile }));
      assert.throws(
        () => loadTokens({ env: JSON.stringify(fromEnv), file, dataDir: dir }),
        (error: Error) => {
          assert.match(error.message, message);
          assert.ok(!error.message.includes(secret) && !error.message.includes(sha256), 'no secret in the message');
          return true;
        },
      );
    }
  });

  it('refuses a configuration that is not what it should be, saying where', () => {
    const bad = [
      ['not json', /ANNALS_TOKENS is not JSON/],
      [JSON.stringify([{ name: 'x', role: 'root', token: 'long-enough-token-1' }]), /role/],
      [JSON.stringify([{ name: 'x', role: 'reader', token: 'short' }]), /token/],
      [JSON.stringify([{ name: 'x', role: 'reader' }]), /exactly one of 'token' and 'sha256'/],
      [JSON.stringify([{ name: 'x', role: 'reader', token: 'long-enough-token-1', extra: 1 }]), /extra|propert/],
    ] as const;
    for (const [env, message] of bad) assert.throws(() => loadTokens({ env, dataDir: join(dir, 'unused') }), message, env);
    assert.throws(() => loadTokens({ file: join(dir, 'missing.json'), dataDir: dir }), /ENOENT/);
  });
});
