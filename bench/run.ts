/**
 * `npm run bench [-- --only sqlite,http] [--scale 0.1]`: runs every suite of `bench/suites/`, prints one
 * table, and saves the figures as JSON under `bench/results/`.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { cpus, hostname, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { createContext, type BenchSuite, type Measurement } from './harness.js';
import { renderTable } from './table.js';

const here = fileURLToPath(new URL('.', import.meta.url));

const options = new Command()
  .option('--only <suites>', 'comma-separated suite names')
  .option('--scale <factor>', 'scale the work (1 = the real run)', '1')
  .option('--out <file>', 'where to save the JSON results')
  .parse()
  .opts<{ only?: string; scale: string; out?: string }>();

const main = async () => {
  const only = options.only?.split(',');
  const files = readdirSync(join(here, 'suites'))
    .filter((file) => file.endsWith('.ts'))
    .sort();
  const results: { suite: string; skipped?: string; measurements: Measurement[] }[] = [];
  const context = createContext(Number(options.scale));
  try {
    for (const file of files) {
      const suite = (await import(join(here, 'suites', file))).suite as BenchSuite;
      if (only && !only.includes(suite.name)) continue;
      const skipped = await suite.unavailable?.();
      if (skipped) {
        process.stderr.write(`${suite.name}: skipped (${skipped})\n`);
        results.push({ suite: suite.name, skipped, measurements: [] });
        continue;
      }
      process.stderr.write(`${suite.name}: running\n`);
      results.push({ suite: suite.name, measurements: await suite.run(context) });
    }
  } finally {
    context.cleanup();
  }

  console.log(renderTable(results, Number(options.scale)));
  const machine = {
    host: hostname(),
    cpus: cpus().length,
    cpu: cpus()[0]?.model,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
  };
  const out = options.out ?? join(here, 'results', `${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  mkdirSync(join(here, 'results'), { recursive: true });
  writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), scale: Number(options.scale), machine, results }, null, 2));
  console.log(`saved ${out}`);
};

await main();
