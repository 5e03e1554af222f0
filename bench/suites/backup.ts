/**
 * Online backups of the SQLite store (durability `fsync`), 1,000,000 events × scale: what a backup costs
 * the appends that go on meanwhile, and how fast it copies.
 *
 * - Appends at a steady 500 a second on a timer (an open loop: a slow append delays no other), their p50
 *   and p99 with no backup, then while `store.backup()` runs (the appends in flight at any time during a
 *   backup count; backups follow one another while the load lasts). Target: the p99 at most doubled.
 * - The backup's rate in MB/s (the file's bytes over its time, under that load), beside `fs.copyFile` of
 *   the same file: the raw copy underneath, with no page-by-page consistency and no appends served.
 */
import { copyFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { openEventStore } from '../../src/engines/open.js';
import type { EventStore } from '../../src/store/event-store.js';
import { percentile, timed, type BenchContext, type BenchSuite, type Measurement } from '../harness.js';
import { eventOf, paced, preload, scaled } from '../workload.js';

const appendsPerSecond = 500;
const megabytes = (bytes: number) => bytes / 1e6;

/** Appends at the steady rate for `seconds`; each append's start time and latency. */
const steadyAppends = async (store: EventStore, seconds: number) => {
  const samples: { at: number; ms: number }[] = [];
  await paced(Math.round(seconds * appendsPerSecond), appendsPerSecond, async (index) => {
    const at = performance.now();
    await store.append(`live-${index % 100}`, [eventOf(index)]);
    samples.push({ at, ms: performance.now() - at });
  });
  return samples;
};

/**
 * Backups made one after another while the steady appends go on (at least one; more when a backup is
 * quick, as on a small store, so that enough appends fall within them): the appends in flight during any
 * of them, and the figures of the first.
 */
const backupsUnderLoad = async (store: EventStore, expectedMs: number) => {
  // Load before, during and after: the backups start once the appends are steady, and the appends outlast them.
  const loadSeconds = Math.max(2, 1 + (3 * expectedMs) / 1000);
  const appending = steadyAppends(store, loadSeconds);
  await new Promise((resolve) => setTimeout(resolve, 500));
  const stopBy = performance.now() + loadSeconds * 1000 - 1000;
  const windows: { start: number; end: number; bytes: number }[] = [];
  do {
    const start = performance.now();
    const backup = await store.backup();
    const end = performance.now();
    if (backup.format !== 'sqlite') throw new Error('a SQLite store backs up to a file');
    windows.push({ start, end, bytes: backup.bytes });
    await backup.close();
  } while (performance.now() < stopBy);
  const during = (await appending)
    .filter(({ at, ms }) => windows.some(({ start, end }) => at <= end && at + ms >= start))
    .map(({ ms }) => ms);
  const [first] = windows;
  return { ms: first!.end - first!.start, bytes: first!.bytes, backups: windows.length, during };
};

const run = async (context: BenchContext): Promise<Measurement[]> => {
  const dir = context.tempDir();
  const total = scaled(context, 1_000_000, 2_000);
  const path = join(dir, 'annals.db');
  const store = await openEventStore({ path, durability: 'fsync' });
  try {
    context.progress(`loading ${total.toLocaleString('en-US')} events`);
    await preload(store, total, { batch: 1000, streams: 1000 });

    // An idle backup first: how long one takes, so that the load below outlasts the next.
    const idleStart = performance.now();
    const idle = await store.backup();
    const idleMs = performance.now() - idleStart;
    await idle.close();

    context.progress('appends at 500/s without a backup');
    const seconds = Math.max(2, Math.min(10, (2 * idleMs) / 1000));
    const without = (await steadyAppends(store, seconds)).map(({ ms }) => ms);
    context.progress('appends at 500/s while a backup runs');
    const withBackup = await backupsUnderLoad(store, idleMs);

    const copy = join(dir, 'copy.db');
    const fileBytes = (await stat(path)).size;
    const copyMs = await timed(() => copyFile(path, copy));
    await rm(copy);

    const details = {
      p50WithoutMs: percentile(without, 50),
      p50DuringMs: percentile(withBackup.during, 50),
      maxDuringMs: Math.max(...withBackup.during),
      appendsDuring: withBackup.during.length,
      backups: withBackup.backups,
      appendsWithout: without.length,
    };
    return [
      {
        name: `append p99 at ${appendsPerSecond}/s while a backup of ${total.toLocaleString('en-US')} events runs`,
        unit: 'ms',
        value: percentile(withBackup.during, 99),
        limit: { name: 'the same appends without a backup', value: percentile(without, 99) },
        target: '<= 2x limit',
        details,
      },
      {
        name: `backup rate, under that load (${megabytes(withBackup.bytes).toFixed(0)} MB)`,
        unit: 'MB/s',
        value: megabytes(withBackup.bytes) / (withBackup.ms / 1000),
        limit: { name: 'fs.copyFile of the same file', value: megabytes(fileBytes) / (copyMs / 1000) },
        details: { backupMs: withBackup.ms, idleBackupMs: idleMs, copyMs, bytes: withBackup.bytes },
      },
    ];
  } finally {
    await store.close();
  }
};

export const suite: BenchSuite = { name: 'backup', run };
