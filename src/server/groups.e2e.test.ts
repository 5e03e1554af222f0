/**
 * Consumer groups across real processes: a server, several consumer processes (testing/group-consumer.ts)
 * pulling over HTTP, and faults: a consumer killed while it holds a batch, a server killed and restarted,
 * and two servers in front of one PostgreSQL with consumers on each.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, afterEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { connect } from '../client/connect.js';
import { freePort, serve, stop, type ServerProcess } from '../cli/testing/processes.js';
import { dropSchema, freshSchema, postgresSkipReason, postgresTestUrl } from '../engines/postgres/testing/test-database.js';
import type { EventStore } from '../store/event-store.js';

const consumerScript = fileURLToPath(new URL('./testing/group-consumer.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'annals-groups-e2e-'));
after(() => rmSync(dir, { recursive: true, force: true }));

interface ConsumerLine {
  consumer: string;
  got?: string;
  attempt?: number;
  acked?: string[];
  unanswered?: string[];
}

/** Consumer processes still running: stopped after each test, whether it passed or not. */
const running = new Set<{ child: ReturnType<typeof spawn>; exited: Promise<unknown[]> }>();
afterEach(async () => {
  await Promise.all([...running].map((process) => stop(process, 'SIGKILL')));
  running.clear();
});

/** Everything the consumers reported, in the order the test received it. */
/** `handleMs` of an assignment, if given, is that consumer's own handling time. */
const startConsumers = async (assignments: { url: string; consumer: string; handleMs?: number }[], group: string, handleMs: number) => {
  const lines: ConsumerLine[] = [];
  const processes = await Promise.all(
    assignments.map(async ({ url, consumer, handleMs: own }) => {
      const child = spawn(process.execPath, ['--import', 'tsx', consumerScript, url, group, consumer, String(own ?? handleMs)], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const exited = once(child, 'exit');
      running.add({ child, exited });
      let ready!: () => void;
      const isReady = new Promise<void>((resolve) => (ready = resolve));
      createInterface({ input: child.stdout! }).on('line', (text) => {
        const line = JSON.parse(text) as ConsumerLine & { ready?: string };
        if (line.ready !== undefined) ready();
        else lines.push({ ...line, consumer });
      });
      await Promise.race([isReady, exited.then(([code]) => assert.fail(`consumer ${consumer} exited early with ${String(code)}`))]);
      return { consumer, child, exited };
    }),
  );
  return { lines, processes };
};

const appendMany = async (store: EventStore, count: number, streams = 10) => {
  for (let index = 0; index < count; index++) await store.append(`order-${index % streams}`, [{ type: 'Placed', data: { index } }]);
  return (await store.readAll()).map((event) => String(event.position));
};

const settledAll = async (store: EventStore, group: string, ms = 60_000) => {
  const deadline = Date.now() + ms;
  for (;;) {
    const info = await store.groups.info(group).catch(() => undefined);
    if (info !== undefined && info.lag.events === 0 && info.pending === 0) return info;
    assert.ok(
      Date.now() < deadline,
      `group ${group} did not settle everything within ${ms} ms: ${JSON.stringify(info, (_k, v) => (typeof v === 'bigint' ? String(v) : v))}`,
    );
    await sleep(100);
  }
};

const timesDelivered = (lines: ConsumerLine[]) => {
  const counts = new Map<string, number>();
  for (const { got } of lines) if (got !== undefined) counts.set(got, (counts.get(got) ?? 0) + 1);
  return counts;
};

const ackedBy = (lines: ConsumerLine[]) => new Set(lines.flatMap((line) => line.acked ?? []));

/**
 * Waits until the consumers have reported an ack of every position (a report follows the server's
 * answer), or an ack that an outage left unanswered (the server may have settled it before it went down).
 */
const allAcked = async (lines: ConsumerLine[], positions: string[], ms = 10_000) => {
  const deadline = Date.now() + ms;
  for (;;) {
    const acked = new Set([...ackedBy(lines), ...lines.flatMap((line) => line.unanswered ?? [])]);
    const missing = positions.filter((position) => !acked.has(position));
    if (missing.length === 0) return;
    assert.ok(Date.now() < deadline, `no consumer reported an ack of ${missing.length} events, the first ${missing[0]}`);
    await sleep(50);
  }
};

describe('consumer groups across processes (SQLite server)', () => {
  it('a consumer killed while it holds a batch: its events go to the others, nothing is lost', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const server = await serve(['--port', String(port), '--dev', '--data', join(dir, 'kill-consumer')]);
    const store = connect(url);
    try {
      await store.groups.create('billing', { ackTimeoutMs: 1_000, retryDelayMs: 0, strategy: 'pinned' });
      const positions = await appendMany(store, 300);
      const { lines, processes } = await startConsumers(
        // c1 handles its batch for long, so that it surely still holds it (has not acked) when it is killed.
        ['c1', 'c2', 'c3'].map((consumer) => ({ url, consumer, ...(consumer === 'c1' ? { handleMs: 60_000 } : {}) })),
        'billing',
        20,
      );
      // Kill c1 the moment it holds a batch it has not acked.
      const victim = processes[0]!;
      for (;;) {
        const mine = lines.filter((line) => line.consumer === 'c1');
        const last = mine.at(-1);
        if (last?.got !== undefined) break;
        await sleep(2);
      }
      await stop(victim, 'SIGKILL');
      const mine = lines.filter((line) => line.consumer === 'c1');
      const heldByVictim = new Set(mine.map((line) => line.got).filter((got) => got !== undefined));
      for (const line of mine) for (const position of line.acked ?? []) heldByVictim.delete(position);
      assert.ok(heldByVictim.size > 0, 'the victim held unacked events when it died');

      await settledAll(store, 'billing');
      await allAcked(lines, positions);
      for (const position of heldByVictim)
        assert.ok(
          lines.some((line) => line.consumer !== 'c1' && line.got === position),
          `${position} went to another consumer`,
        );
      for (const [position, times] of timesDelivered(lines)) {
        if (times > 1) assert.ok(heldByVictim.has(position), `only the victim's unacked events are delivered twice, not ${position}`);
      }
      await Promise.all(processes.slice(1).map((process) => stop(process)));
    } finally {
      await store.close();
      await stop(server);
    }
  });

  it('a server killed and restarted: no settled progress is lost', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const data = join(dir, 'kill-server');
    let server: ServerProcess = await serve(['--port', String(port), '--dev', '--data', data]);
    const store = connect(url);
    try {
      await store.groups.create('billing', { ackTimeoutMs: 2_000, retryDelayMs: 0 });
      const positions = await appendMany(store, 400);
      const { lines, processes } = await startConsumers(
        ['c1', 'c2'].map((consumer) => ({ url, consumer })),
        'billing',
        10,
      );
      while (ackedBy(lines).size < 100) await sleep(5);
      await stop(server, 'SIGKILL');
      const ackedBeforeKill = ackedBy(lines);
      server = await serve(['--port', String(port), '--dev', '--data', data]);

      await settledAll(store, 'billing');
      await allAcked(lines, positions);
      for (const line of lines) {
        if (line.got !== undefined && line.attempt! > 1) {
          assert.ok(!ackedBeforeKill.has(line.got), `event ${line.got}, acked before the kill, was delivered again after it`);
        }
      }
      await Promise.all(processes.map((process) => stop(process)));
    } finally {
      await store.close();
      await stop(server);
    }
  });
});

describe('consumer groups across processes (two servers, one PostgreSQL)', async () => {
  const skip = await postgresSkipReason();
  it('consumers attached to different servers share one group without duplicates', { skip }, async () => {
    const schema = freshSchema();
    const servers: ServerProcess[] = [];
    const urls: string[] = [];
    for (let index = 0; index < 2; index++) {
      const port = await freePort();
      servers.push(
        await serve(['--port', String(port), '--dev', '--engine', 'postgres', '--pg-url', postgresTestUrl(), '--pg-schema', schema]),
      );
      urls.push(`http://127.0.0.1:${port}`);
    }
    const store = connect(urls[0]!);
    const writer = connect(urls[1]!);
    try {
      await store.groups.create('billing', { ackTimeoutMs: 10_000, strategy: 'pinned' });
      const { lines, processes } = await startConsumers(
        [0, 1, 2, 3].map((index) => ({ url: urls[index % 2]!, consumer: `c${index}` })),
        'billing',
        5,
      );
      const positions = await appendMany(writer, 300);
      await settledAll(store, 'billing');
      await allAcked(lines, positions);
      for (const [position, times] of timesDelivered(lines)) assert.equal(times, 1, `event ${position} was delivered ${times} times`);
      const servedBy = new Set(lines.filter((line) => line.got !== undefined).map((line) => Number(line.consumer.slice(1)) % 2));
      assert.deepEqual([...servedBy].sort(), [0, 1], 'both servers delivered events');
      await Promise.all(processes.map((process) => stop(process)));
    } finally {
      await Promise.all([store.close(), writer.close()]);
      for (const server of servers) await stop(server);
      await dropSchema(schema);
    }
  });
});
