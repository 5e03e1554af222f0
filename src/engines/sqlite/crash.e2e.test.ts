/**
 * Crash test: a child process appends under load and reports each acknowledged append; it is killed with
 * SIGKILL at a random moment, many times over, and after each kill the file must hold every acknowledged
 * event, no part of an unfinished append, contiguous revisions and strictly increasing positions.
 *
 * SIGKILL ends the process, not the machine: it proves durability against process crashes in both modes.
 * That `fsync` also survives power loss rests on SQLite's `synchronous = FULL`, which this cannot show.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { seededRandom, withSeed } from '../../testing/seed.js';
import { openEventStore } from '../open.js';
import type { EventStore } from '../../store/event-store.js';

const writer = fileURLToPath(new URL('./testing/crash-writer.ts', import.meta.url));
const rounds = Number(process.env.ANNALS_CRASH_ROUNDS ?? 10);
const dir = mkdtempSync(join(tmpdir(), 'annals-crash-'));
after(() => rmSync(dir, { recursive: true, force: true }));

interface Acknowledged {
  stream: string;
  ids: string[];
  revision: number;
  position: string;
}

/** Starts the writer; resolves when it is ready, with the acknowledgements it reports. */
const startWriter = async (path: string, durability: 'fsync' | 'os', seed = 0) => {
  const child = spawn(process.execPath, ['--import', 'tsx', writer, path, durability, String(seed)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = once(child, 'exit');
  const acknowledged: Acknowledged[] = [];
  let ready!: () => void;
  const isReady = new Promise<void>((resolve) => (ready = resolve));
  createInterface({ input: child.stdout! }).on('line', (line) => (line === 'ready' ? ready() : acknowledged.push(JSON.parse(line))));
  await Promise.race([isReady, exited.then(([code]) => assert.fail(`the writer exited early with ${String(code)}`))]);
  return { child, exited, acknowledged };
};

const checkFile = async (store: EventStore, acknowledged: Acknowledged[]) => {
  const byStream = new Map<string, { id: string; revision: number; position: bigint; append: string; count: number }[]>();
  const appends = new Map<string, number>();
  let lastPosition = 0n;
  for await (const event of store.iterateAll()) {
    assert.ok(event.position > lastPosition, 'positions strictly increase');
    lastPosition = event.position;
    const { append, count } = event.data as { append: string; count: number };
    appends.set(append, (appends.get(append) ?? 0) + 1);
    const events = byStream.get(event.stream) ?? [];
    events.push({ id: event.id, revision: event.revision, position: event.position, append, count });
    byStream.set(event.stream, events);
  }
  for (const events of byStream.values()) {
    events.forEach((event, index) => assert.equal(event.revision, index, 'revisions are contiguous from 0'));
    for (const event of events) assert.equal(appends.get(event.append), event.count, 'an append is whole or absent');
  }
  for (const ack of acknowledged) {
    const events = byStream.get(ack.stream) ?? [];
    const last = events[ack.revision];
    assert.ok(last !== undefined, `acknowledged revision ${ack.revision} of ${ack.stream} is there`);
    assert.equal(String(last.position), ack.position);
    assert.deepEqual(
      events.slice(ack.revision - ack.ids.length + 1, ack.revision + 1).map((event) => event.id),
      ack.ids,
    );
  }
  return [...byStream.values()].reduce((total, events) => total + events.length, 0);
};

for (const durability of ['fsync', 'os'] as const) {
  describe(`crash test, durability ${durability}`, () => {
    it(`loses no acknowledged append and shows no partial one over ${rounds} kills`, () =>
      withSeed(import.meta.url, async (seed) => {
        // The seed draws when each kill comes and what the writer appends (the interleaving is the machine's).
        const random = seededRandom(seed);
        const path = join(dir, `${durability}.db`);
        const acknowledged: Acknowledged[] = [];
        for (let round = 0; round < rounds; round++) {
          const { child, exited, acknowledged: reported } = await startWriter(path, durability, seed + round);
          await new Promise((resolve) => setTimeout(resolve, 50 + random() * 350));
          child.kill('SIGKILL');
          await exited;
          acknowledged.push(...reported);
          const store = await openEventStore({ engine: 'sqlite', path, durability });
          try {
            const events = await checkFile(store, acknowledged);
            assert.ok(events >= acknowledged.length);
          } finally {
            await store.close();
          }
        }
        assert.ok(acknowledged.length > rounds * 10, `the writer was under load (${acknowledged.length} acknowledged appends)`);
      }));
  });
}

describe('a second process', () => {
  it('cannot open a file another process writes, and is told why', async () => {
    const path = join(dir, 'held.db');
    const { child, exited } = await startWriter(path, 'os');
    try {
      await assert.rejects(openEventStore({ engine: 'sqlite', path }), (error: Error & { code?: string }) => {
        assert.equal(error.code, 'unavailable');
        assert.match(error.message, /held\.db is in use by another Annals process/);
        return true;
      });
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
    await (await openEventStore({ engine: 'sqlite', path })).close();
  });
});
