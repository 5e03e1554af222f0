import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { openExportFile } from './export-file.js';
import { headerLine } from './header.js';

const dir = mkdtempSync(join(tmpdir(), 'annals-export-file-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, lines: string[], end = '\n') => {
  const path = join(dir, name);
  writeFileSync(path, lines.join('\n') + end);
  return path;
};
const line = (position: number, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    id: `0190a6f0-0000-7000-8000-${String(position).padStart(12, '0')}`,
    stream: 'order-1',
    revision: position - 1,
    position: String(position),
    type: 'Placed',
    data: { n: position },
    metadata: {},
    recordedAt: '2026-11-28T10:00:00.000Z',
    ...extra,
  });
const header = headerLine({ storeId: 'store-a', epoch: 2, epochStart: 7n, headPosition: 9n, from: 1n });
const events = async (path: string) => {
  const read = [];
  for await (const { event } of (await openExportFile(path)).events()) read.push(event);
  return read;
};

describe('an export file', () => {
  it('gives its header, how far it goes, and its events', async () => {
    const opened = await openExportFile(file('good', [header, line(1), line(3)]));
    assert.deepEqual(opened.header, { storeId: 'store-a', epoch: 2, epochStart: 7n, headPosition: 9n, from: 1n });
    assert.equal(opened.lastPosition, 3n);
    const read = await events(opened.path);
    assert.deepEqual(
      read.map((event) => [event.position, event.recordedAt.toISOString(), event.data]),
      [
        [1n, '2026-11-28T10:00:00.000Z', { n: 1 }],
        [3n, '2026-11-28T10:00:00.000Z', { n: 3 }],
      ],
    );
  });

  it('may have no header', async () => {
    const opened = await openExportFile(file('bare', [line(1)]));
    assert.equal(opened.header, undefined);
    assert.equal((await events(opened.path)).length, 1);
  });

  it('names the line of what is wrong', async () => {
    const cases: [string[], RegExp][] = [
      [[header, line(1), '{"id":'], /line 3 is not JSON/],
      [[header, line(1), line(2, { revision: -1 })], /line 3 is not an event: revision must be an integer >= 0/],
      [[header, line(1), line(2, { position: 2 })], /line 3 is not an event: position must be a string of digits/],
      [[header, '[1]'], /line 2 is not an event: each line holds one JSON object/],
      [[header, line(2), line(1)], /line 3: position 1 does not follow 2/],
      [[line(1), header], /line 2 is a header; only the first line may be one/],
    ];
    for (const [lines, message] of cases) {
      await assert.rejects(events(file('bad', lines)), { code: 'invalid_argument', message }, String(message));
    }
    await assert.rejects(openExportFile(file('version', ['{"annals":"export","version":2}'])), /allowed: "export" version 1/);
    await assert.rejects(openExportFile(join(dir, 'absent')), /--file .* does not exist/);
  });

  it('says a torn last line may be an export cut short', async () => {
    await assert.rejects(events(file('torn', [header, line(1), line(2).slice(0, 30)], '')), /line 3 is not JSON.*annals export --resume/);
  });
});
