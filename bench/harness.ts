/**
 * The benchmark harness: each suite in `bench/suites/` measures Annals beside the limit of the layer
 * underneath (raw better-sqlite3, raw pg, a bare Fastify route) in the same run, so every figure is read
 * as a ratio to what the machine allows, not as an absolute that drifts with the hardware.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Measurement {
  /** What was measured, e.g. 'append, 100-event batches'. */
  name: string;
  /**
   * Higher is better for rates ('events/s', 'commands/s', 'requests/s', 'MB/s') and for 'x' (a ratio of two rates,
   * e.g. the throughput of 2 workers over 1); lower is better for 'ms', 'µs' (a time per operation) and
   * 'cores' (CPU time over wall time).
   */
  unit: 'events/s' | 'commands/s' | 'requests/s' | 'MB/s' | 'x' | 'ms' | 'µs' | 'cores' | 'KB';
  value: number;
  /** The same work done by the layer underneath, measured in the same run. */
  limit?: { name: string; value: number };
  /** The target, e.g. '>= 200000', '<= 15', '<= 1.3x limit' or '<= limit + 1 ms'. */
  target?: string;
  /** Extra figures (latency percentiles, counts). */
  details?: Record<string, number | string>;
}

export interface BenchContext {
  /** Scale factor: 1 for the real run, smaller for a smoke run. */
  scale: number;
  /** Reports progress of long work on stderr. */
  progress(message: string): void;
  /** A fresh temporary directory, removed when the run ends. */
  tempDir(): string;
}

export interface BenchSuite {
  name: string;
  /** Why the suite cannot run here (for example no PostgreSQL), or undefined when it can. */
  unavailable?(): Promise<string | undefined>;
  run(context: BenchContext): Promise<Measurement[]>;
}

export const createContext = (scale: number): BenchContext & { cleanup(): void } => {
  const dirs: string[] = [];
  return {
    scale,
    progress: (message) => process.stderr.write(`  … ${message}\n`),
    tempDir() {
      const dir = mkdtempSync(join(tmpdir(), 'annals-bench-'));
      dirs.push(dir);
      return dir;
    },
    cleanup() {
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    },
  };
};

/** Runs `work` and returns the elapsed milliseconds. */
export const timed = async (work: () => Promise<unknown> | unknown): Promise<number> => {
  const start = process.hrtime.bigint();
  await work();
  return Number(process.hrtime.bigint() - start) / 1e6;
};

export const perSecond = (count: number, ms: number): number => (count * 1000) / ms;

/** The p-th percentile (0..100) of a list of samples. */
export const percentile = (samples: number[], p: number): number => {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
};

const isRate = (m: Pick<Measurement, 'unit'>): boolean =>
  m.unit === 'events/s' || m.unit === 'commands/s' || m.unit === 'requests/s' || m.unit === 'MB/s' || m.unit === 'x';

/** How close Annals comes to the layer underneath: 1 means as fast as the limit. */
export const ratioToLimit = (m: Measurement): number | undefined => {
  if (m.limit === undefined) return undefined;
  return isRate(m) ? m.limit.value / m.value : m.value / m.limit.value;
};

/**
 * Whether a figure meets its target: an absolute bound (`>= 200000`, `<= 15`), a ratio to the limit
 * measured beside it (`<= 1.3x limit`: at most 1.3 times the limit's time, or at least 1/1.3 of its
 * rate), or a time added to the limit's (`<= limit + 1 ms`). Absolute bounds and added times hold for
 * the real run only: below scale 1 they do not apply (`undefined`).
 */
export const meetsTarget = (m: Measurement, scale = 1): boolean | undefined => {
  const relative = m.target?.match(/^<=\s*([\d.]+)x limit$/);
  if (relative) {
    const ratio = ratioToLimit(m);
    return ratio === undefined ? undefined : ratio <= Number(relative[1]);
  }
  const over = m.target?.match(/^<=\s*limit \+ ([\d.]+) (?:ms|µs)$/);
  if (over) return m.limit === undefined || scale < 1 ? undefined : m.value - m.limit.value <= Number(over[1]);
  const match = m.target?.match(/^(>=|<=)\s*([\d.]+)$/);
  if (!match || scale < 1) return undefined;
  const bound = Number(match[2]);
  return match[1] === '>=' ? m.value >= bound : m.value <= bound;
};
