import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { linesOf } from './lines.js';
import { tailOf } from './tail.js';

const dir = mkdtempSync(join(tmpdir(), 'annals-lines-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, content: string | Buffer) => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};
const collect = async (path: string) => {
  const lines = [];
  for await (const line of linesOf(path)) lines.push(line);
  return lines;
};

describe('linesOf', () => {
  it('numbers lines as editors do, leaves blank ones out, and marks a last line without a newline', async () => {
    const lines = await collect(file('a', '{"a":1}\n\n{"é":2}\n{"torn'));
    assert.deepEqual(lines, [
      { text: '{"a":1}', number: 1, bytes: 8 },
      { text: '{"é":2}', number: 3, bytes: 9 },
      { text: '{"torn', number: 4, bytes: 6, unterminated: true },
    ]);
  });

  it('refuses invalid UTF-8, naming the line', async () => {
    const path = file('b', Buffer.concat([Buffer.from('{"a":1}\n"'), Buffer.from([0xff]), Buffer.from('"\n')]));
    await assert.rejects(collect(path), { code: 'invalid_argument', message: /line 2 is not valid UTF-8/ });
  });
});

describe('tailOf', () => {
  it('finds the last complete line and where a torn one starts', async () => {
    assert.deepEqual(await tailOf(file('c', 'one\ntwo\nthr')), { complete: 8, lastLine: 'two' });
    assert.deepEqual(await tailOf(file('d', 'one\ntwo\n')), { complete: 8, lastLine: 'two' });
    assert.deepEqual(await tailOf(file('e', 'one\n')), { complete: 4, lastLine: 'one' });
    assert.deepEqual(await tailOf(file('f', 'torn')), { complete: 0 });
    assert.deepEqual(await tailOf(file('g', '')), { complete: 0 });
  });

  it('reads back over chunks for long lines', async () => {
    const long = 'x'.repeat(200_000);
    assert.deepEqual(await tailOf(file('h', `a\n${long}\n${'y'.repeat(100_000)}`)), { complete: 200_003, lastLine: long });
  });
});
