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

  it('shows requests/s and ratios, and judges a time added to the limit', () => {
    const gateway = [
      {
        suite: 'gateway',
        measurements: [
          { name: 'through the gateway', unit: 'requests/s' as const, value: 6_927.4, limit: { name: 'direct', value: 33_966 } },
          {
            name: 'p50 at 2,000 req/s',
            unit: 'ms' as const,
            value: 0.83,
            limit: { name: 'direct', value: 0.26 },
            target: '<= limit + 1 ms',
          },
          {
            name: 'p99 at 2,000 req/s',
            unit: 'ms' as const,
            value: 4.95,
            limit: { name: 'direct', value: 0.81 },
            target: '<= limit + 3 ms',
          },
          { name: '2 workers over 1', unit: 'x' as const, value: 1.234, target: '>= 1.6' },
        ],
      },
    ];
    const table = renderTable(gateway, 1);
    assert.match(table, /6,927 req\/s\s+33,966 req\/s \[1\]\s+4\.90x/);
    assert.match(table, /0\.83 ms\s+0\.26 ms \[1\]\s+3\.19x\s+<= limit \+ 1 ms: met/);
    assert.match(table, /<= limit \+ 3 ms: MISSED/);
    assert.match(table, /1\.23x\s+>= 1\.6: MISSED/);
    assert.match(renderTable(gateway, 0.1), /<= limit \+ 1 ms: n\/a/);
  });

  it('marks absolute targets as not applicable below scale 1, and still judges ratios', () => {
    const table = renderTable(results, 0.1);
    assert.match(table, />= 50000: n\/a/);
    assert.match(table, /<= 1\.3x limit: met/);
  });
});
