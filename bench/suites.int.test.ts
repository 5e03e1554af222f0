/**
 * Every benchmark suite runs, at a tiny scale, and reports well-formed figures beside a measured limit.
 * This asserts nothing about speed: `npm run bench` measures that.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createContext, type BenchSuite } from './harness.js';

const suites = fileURLToPath(new URL('./suites/', import.meta.url));
const context = createContext(Number(process.env.ANNALS_BENCH_SMOKE_SCALE ?? 0.002));
context.progress = () => undefined;
after(() => context.cleanup());

const positive = (value: number) => Number.isFinite(value) && value > 0;

for (const file of readdirSync(suites)
  .filter((name) => name.endsWith('.ts'))
  .sort()) {
  const { suite } = (await import(join(suites, file))) as { suite: BenchSuite };
  const skip = await suite.unavailable?.();
  describe(`bench suite ${suite.name}`, { skip }, () => {
    it('runs and reports every figure beside its limit', async () => {
      const measurements = await suite.run(context);
      assert.ok(measurements.length > 0);
      for (const m of measurements) {
        assert.ok(positive(m.value), `${m.name}: ${m.value}`);
        if (m.limit !== undefined) assert.ok(positive(m.limit.value), `${m.name}, limit: ${m.limit.value}`);
      }
    });
  });
}
