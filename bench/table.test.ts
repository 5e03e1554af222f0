import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderTable, tableWidth } from './table.js';

const results = [
  {
    suite: 'sqlite',
    measurements: [
      {
        name: 'append, 1 event per call, 64 concurrent callers, with a name long enough to need wrapping twice over',
        unit: 'events/s' as const,
        value: 52_943.4,
        limit: {
          name: 'raw inserts, 1 row per transaction, with a long explanation of what the limit is and why it is the limit',
          value: 6_277,
        },
        target: '>= 50000',
      },
      {
        name: 'append p50, 2,000 idle stream subscribers',
        unit: 'ms' as const,
        value: 0.16,
        limit: { name: 'no subscriber', value: 0.13 },
        target: '<= 1.3x limit',
      },
    ],
  },
  {
    suite: 'postgres',
    skipped: 'PostgreSQL is unreachable at postgres://postgres@127.0.0.1:5432/test (connect ECONNREFUSED 127.0.0.1:5432)',
    measurements: [],
  },
];

describe('benchmark table', () => {
  it('fits 120 columns, with every figure, limit and verdict', () => {
    const table = renderTable(results, 1);
    for (const line of table.split('\n')) assert.ok(line.length <= tableWidth, `${line.length}: ${line}`);
    assert.match(table, /52,943 ev\/s\s+6,277 ev\/s \[1\]\s+0\.12x\s+>= 50000: met/);
    assert.match(table, /0\.16 ms\s+0\.13 ms \[2\]\s+1\.23x\s+<= 1\.3x limit: met/);
    assert.match(table, /\[1\] raw inserts, 1 row per transaction/);
  });

  it('marks absolute targets as not applicable below scale 1, and still judges ratios', () => {
    const table = renderTable(results, 0.1);
    assert.match(table, />= 50000: n\/a/);
    assert.match(table, /<= 1\.3x limit: met/);
  });
});
