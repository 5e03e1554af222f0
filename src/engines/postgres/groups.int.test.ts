/**
 * Consumer groups on PostgreSQL with several servers: engines with pools of their own on one schema, as
 * several Annals processes in front of one database. Leases taken at once on different servers never hand
 * out an entry twice, never break the pinned rule nor a consumer's maxInFlight; two servers adding the
 * same source range add it once; group state survives a restart; a lost connection is `unavailable`.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import type { DeliveryRef, GroupRow, GroupsEngine, Lease } from '../../bus/groups/engine.js';
import { defaultGroupSettings, type GroupSettings } from '../../bus/groups/model.js';
import { createEventStore } from '../../store/create-store.js';
import type { EngineCore } from '../../store/engine.js';
import { AnnalsError } from '../../store/errors.js';
import { openPostgresEngine } from './engine.js';
import { startTcpProxy } from './testing/tcp-proxy.js';
import { dropSchema, freshSchema, openTestPostgresEngine, postgresSkipReason, postgresTestUrl } from './testing/test-database.js';

const skip = await postgresSkipReason();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const settingsOf = (settings: Partial<GroupSettings> = {}): GroupSettings => ({
  ...defaultGroupSettings,
  source: {},
  from: 0n,
  ...settings,
});

const refOf = (group: GroupRow, lease: Lease): DeliveryRef => ({
  id: `${group.id}.${lease.entry}.${lease.attempt}`,
  entry: lease.entry,
  attempt: lease.attempt,
});

describe('postgres consumer groups on several servers', { skip }, () => {
  let schema: string;
  const engines: EngineCore[] = [];
  /** A server: an engine with a pool of its own on the shared schema. */
  const server = async (poolSize = 4) => {
    const { engine } = await openTestPostgresEngine({ schema, poolSize });
    engines.push(engine);
    return engine;
  };
  let a: EngineCore;
  let b: EngineCore;

  before(async () => {
    schema = freshSchema();
    a = await server(6);
    b = await server(6);
  });
  after(async () => {
    await Promise.all(engines.map((engine) => engine.close().catch(() => undefined)));
    await dropSchema(schema);
  });

  /** Appends `perStream` events to each of `streams` new streams, interleaved; returns the stream names. */
  const appendEvents = async (engine: EngineCore, streams: number, perStream: number): Promise<string[]> => {
    const names = Array.from({ length: streams }, () => `order-${randomUUID()}`);
    for (let revision = 0; revision < perStream; revision++) {
      for (const stream of names) {
        await engine.append(stream, [{ id: randomUUID(), type: 'Placed', data: JSON.stringify({ revision }), metadata: null }], 'any');
      }
    }
    return names;
  };

  /** A group reading the whole log from the current head; returns it with the events appended. */
  const groupWith = async (settings: Partial<GroupSettings>, streams: number, perStream: number) => {
    const head = (await a.stats()).headPosition;
    const { group } = await a.groups.create(`g-${randomUUID()}`, settingsOf({ from: head, ...settings }), head);
    const names = await appendEvents(a, streams, perStream);
    await feed(a.groups, group);
    return { group, names };
  };

  /** Reads the log after the group's last position into it, as the shared layer does. */
  const feed = async (groups: GroupsEngine, group: GroupRow, engine: EngineCore = a): Promise<boolean> => {
    const current = (await groups.get(group.name))!;
    const events = await engine.readAll({ from: current.lastPosition + 1n, direction: 'forwards', limit: 10_000, filter: undefined });
    if (events.length === 0) return false;
    const entries = events.map((event) => ({ position: event.position, stream: event.stream }));
    return groups.add(group.id, current.lastPosition, events.at(-1)!.position, entries);
  };

  it('two servers adding the same range at once: one add wins, and every event becomes an entry once', async () => {
    const head = (await a.stats()).headPosition;
    const { group } = await a.groups.create(`g-${randomUUID()}`, settingsOf({ from: head }), head);
    await appendEvents(a, 10, 5);
    const events = await a.readAll({ from: head + 1n, direction: 'forwards', limit: 1000, filter: undefined });
    const entries = events.map((event) => ({ position: event.position, stream: event.stream }));
    const to = events.at(-1)!.position;
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? a : b).groups.add(group.id, head, to, entries)));
    assert.equal(results.filter(Boolean).length, 1);
    const row = (await b.groups.get(group.name))!;
    assert.equal(row.lastPosition, to);
    assert.equal(await b.groups.pending(group.id), 50);
    assert.equal(await a.groups.add(group.id, head, to, entries), false, 'a stale cursor adds nothing');
    assert.equal(await a.groups.add(group.id, to, to + 5n, []), true);
    assert.equal((await a.groups.get(group.name))!.lastPosition, to + 5n);
  });

  it('round robin: consumers on two servers leasing at once never hold the same entry, and each event is delivered once', async () => {
    const { group } = await groupWith({ strategy: 'round_robin' }, 40, 10);
    const leasedEntries = new Map<number, number>();
    const delivered: bigint[] = [];
    const consumers = [a, b].flatMap((engine, server) =>
      Array.from({ length: 4 }, async (_, i) => {
        const consumer = `w${server}-${i}`;
        for (let idle = 0; idle < 3;) {
          const { leases } = await engine.groups.lease(group.id, consumer, 1 + ((i * 3) % 7));
          if (leases.length === 0) {
            idle++;
            await sleep(5);
            continue;
          }
          idle = 0;
          for (const lease of leases) {
            leasedEntries.set(lease.entry, (leasedEntries.get(lease.entry) ?? 0) + 1);
            delivered.push(lease.event.position);
          }
          await sleep(Math.random() * 3);
          const result = await engine.groups.settle(
            group.id,
            leases.map((lease) => refOf(group, lease)),
            'ack',
            undefined,
          );
          assert.equal(result.settled.length, leases.length, 'every ack of a lease held settles');
        }
      }),
    );
    await Promise.all(consumers);
    assert.equal(delivered.length, 400);
    assert.equal(new Set(delivered).size, 400);
    assert.ok(
      [...leasedEntries.values()].every((count) => count === 1),
      'no entry leased twice',
    );
    const state = await b.groups.state(group.id);
    assert.equal(state.checkpoint, (await a.groups.get(group.name))!.lastPosition);
    assert.equal(state.inFlight, 0);
    assert.equal(state.settledLastMinute, 400);
  });

  it('pinned: across servers at most one unsettled delivery per stream, in stream order, retries included', async () => {
    const streams = 30;
    const perStream = 8;
    const { group, names } = await groupWith({ strategy: 'pinned', retryDelayMs: 5 }, streams, perStream);
    const held = new Map<string, string>();
    const acked = new Map<string, number[]>(names.map((name) => [name, []]));
    const violations: string[] = [];
    let retried = 0;
    const consumers = [a, b].flatMap((engine, server) =>
      Array.from({ length: 5 }, async (_, i) => {
        const consumer = `p${server}-${i}`;
        for (let idle = 0; idle < 20;) {
          const { leases } = await engine.groups.lease(group.id, consumer, 1 + (i % 4));
          if (leases.length === 0) {
            idle++;
            await sleep(5);
            continue;
          }
          idle = 0;
          for (const lease of leases) {
            const holder = held.get(lease.event.stream);
            if (holder !== undefined) violations.push(`${lease.event.stream} leased by ${consumer} while ${holder} holds it`);
            held.set(lease.event.stream, consumer);
          }
          await sleep(Math.random() * 4);
          // Released before the settle commits, so that a lease right after the settle is no false alarm.
          for (const lease of leases) held.delete(lease.event.stream);
          const retry = leases.filter((lease) => lease.event.revision % 3 === 1 && lease.attempt === 1);
          const ack = leases.filter((lease) => !retry.includes(lease));
          if (retry.length > 0) {
            const result = await engine.groups.settle(
              group.id,
              retry.map((lease) => refOf(group, lease)),
              'retry',
              undefined,
            );
            assert.equal(result.settled.length, retry.length);
            retried += retry.length;
          }
          if (ack.length > 0) {
            for (const lease of ack) acked.get(lease.event.stream)!.push(lease.event.revision);
            const result = await engine.groups.settle(
              group.id,
              ack.map((lease) => refOf(group, lease)),
              'ack',
              undefined,
            );
            assert.equal(result.settled.length, ack.length);
          }
        }
      }),
    );
    await Promise.all(consumers);
    assert.deepEqual(violations, []);
    const inOrder = Array.from({ length: perStream }, (_, revision) => revision);
    for (const name of names) assert.deepEqual(acked.get(name), inOrder, `${name} in order`);
    assert.ok(retried > 0);
    assert.equal(await a.groups.pending(group.id), 0);
  });

  it('pinned while leases expire: servers sweep and lease again at once, and the database never holds two leases of one stream', async () => {
    const streams = 24;
    const perStream = 6;
    const { group, names } = await groupWith(
      { strategy: 'pinned', ackTimeoutMs: 120, retryDelayMs: 5, maxRetries: 20 },
      streams,
      perStream,
    );
    const monitor = new pg.Client({ connectionString: postgresTestUrl() });
    await monitor.connect();
    const acked = new Map<string, number[]>(names.map((name) => [name, []]));
    const violations: string[] = [];
    let abandoned = 0;
    let running = true;
    const watching = (async () => {
      while (running) {
        const { rows } = await monitor.query<{ stream: string; leased: string; first: boolean }>(
          `SELECT stream, count(*) FILTER (WHERE consumer IS NOT NULL) AS leased,
                  bool_and(consumer IS NULL OR entry = (SELECT min(o.entry) FROM "${schema}".group_entries o
                                                         WHERE o.group_id = $1 AND o.stream = e.stream)) AS first
           FROM "${schema}".group_entries e WHERE group_id = $1 GROUP BY stream`,
          [group.id],
        );
        for (const row of rows) {
          if (Number(row.leased) > 1) violations.push(`${row.stream}: ${row.leased} leased entries`);
          if (!row.first) violations.push(`${row.stream}: a leased entry that is not the stream's first`);
        }
      }
    })();
    const consumers = [a, b].flatMap((engine, server) =>
      Array.from({ length: 5 }, async (_, i) => {
        const consumer = `e${server}-${i}`;
        for (let idle = 0; idle < 60;) {
          const { leases } = await engine.groups.lease(group.id, consumer, 3);
          if (leases.length === 0) {
            idle++;
            await sleep(5);
            continue;
          }
          idle = 0;
          // Some first attempts are abandoned: their leases run out, and whichever server leases next sweeps them.
          const kept = leases.filter((lease) => lease.attempt > 1 || (lease.event.revision + i) % 5 !== 0);
          abandoned += leases.length - kept.length;
          await sleep(Math.random() * 3);
          if (kept.length === 0) continue;
          for (const lease of kept) acked.get(lease.event.stream)!.push(lease.event.revision);
          const result = await engine.groups.settle(
            group.id,
            kept.map((lease) => refOf(group, lease)),
            'ack',
            undefined,
          );
          assert.equal(result.settled.length, kept.length);
        }
      }),
    );
    try {
      await Promise.all(consumers);
    } finally {
      running = false;
      await watching;
      await monitor.end();
    }
    assert.deepEqual(violations, []);
    assert.ok(abandoned > 0);
    const inOrder = Array.from({ length: perStream }, (_, revision) => revision);
    for (const name of names) assert.deepEqual(acked.get(name), inOrder, `${name} in order`);
    assert.equal(await a.groups.pending(group.id), 0);
  });

  it('store.groups on two servers: consumers on each share a pinned group while events arrive, each event handled once and in stream order', async () => {
    const stores = [createEventStore(await server()), createEventStore(await server())];
    const name = `g-${randomUUID()}`;
    await stores[0]!.groups.create(name, { strategy: 'pinned', from: 'end', ackTimeoutMs: 10_000 });
    const handled = new Map<bigint, number>();
    const order = new Map<string, number[]>();
    const busy = new Set<string>();
    const violations: string[] = [];
    const consumers = stores.flatMap((store, server) =>
      [0, 1].map((i) =>
        store.groups.consume(
          name,
          async (event) => {
            if (busy.has(event.stream)) violations.push(`${event.stream} handled twice at once`);
            busy.add(event.stream);
            await sleep(Math.random() * 2);
            busy.delete(event.stream);
            handled.set(event.position, (handled.get(event.position) ?? 0) + 1);
            order.set(event.stream, [...(order.get(event.stream) ?? []), event.revision]);
          },
          { consumer: `s${server}-${i}`, concurrency: 4 },
        ),
      ),
    );
    const streams = Array.from({ length: 10 }, () => `order-${randomUUID()}`);
    await Promise.all(
      streams.map(async (stream, index) => {
        for (let revision = 0; revision < 20; revision++) {
          await stores[index % 2]!.append(stream, [{ type: 'Placed', data: { revision } }]);
        }
      }),
    );
    const deadline = Date.now() + 20_000;
    while (handled.size < 200 && Date.now() < deadline) await sleep(20);
    await Promise.all(consumers.map((consumer) => consumer.close()));
    assert.equal(handled.size, 200);
    assert.ok(
      [...handled.values()].every((times) => times === 1),
      'each event handled once',
    );
    assert.deepEqual(violations, []);
    for (const stream of streams)
      assert.deepEqual(
        order.get(stream),
        Array.from({ length: 20 }, (_, revision) => revision),
        stream,
      );
    const info = await stores[1]!.groups.info(name);
    assert.equal(info.pending, 0);
    assert.equal(info.checkpoint, info.lastPosition);
    assert.deepEqual(
      info.consumers.map((consumer) => consumer.name),
      ['s0-0', 's0-1', 's1-0', 's1-1'],
    );
  });

  it('pinned with a long backlog in one stream: the other streams are leased past it, first entries only', async () => {
    const head = (await a.stats()).headPosition;
    const { group } = await a.groups.create(`g-${randomUUID()}`, settingsOf({ from: head, strategy: 'pinned', retryDelayMs: 0 }), head);
    const hot = `hot-${randomUUID()}`;
    await a.append(
      hot,
      Array.from({ length: 600 }, () => ({ id: randomUUID(), type: 'Placed', data: '{}', metadata: null })),
      'any',
    );
    const others = await appendEvents(a, 5, 2);
    await feed(a.groups, group);
    const [first] = (await a.groups.lease(group.id, 'w', 1)).leases;
    assert.equal(first!.event.stream, hot);
    const rest = (await b.groups.lease(group.id, 'v', 100)).leases;
    assert.deepEqual(
      rest.map((lease) => [lease.event.stream, lease.event.revision]),
      others.map((stream) => [stream, 0]),
    );
    // A retry of the hot stream's first entry goes before everything; the rest of its backlog still waits.
    await a.groups.settle(group.id, [refOf(group, first!)], 'retry', undefined);
    const again = (await b.groups.lease(group.id, 'v', 100)).leases;
    assert.deepEqual(
      again.map((lease) => [lease.event.stream, lease.event.revision, lease.attempt]),
      [[hot, 0, 2]],
    );
    await b.groups.settle(
      group.id,
      [...rest, ...again].map((lease) => refOf(group, lease)),
      'ack',
      undefined,
    );
    const next = (await a.groups.lease(group.id, 'w', 100)).leases;
    assert.deepEqual(
      next.map((lease) => [lease.event.stream, lease.event.revision]).sort(),
      [[hot, 1], ...others.map((stream) => [stream, 1])].sort(),
    );
  });

  it('a consumer holds at most maxInFlight leases, however many servers lease for it at once', async () => {
    const { group } = await groupWith({ maxInFlight: 7 }, 5, 10);
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 === 0 ? a : b).groups.lease(group.id, 'w', 3)));
    assert.equal(
      results.reduce((sum, { leases }) => sum + leases.length, 0),
      7,
    );
    const other = await b.groups.lease(group.id, 'v', 100);
    assert.equal(other.leases.length, 7);
    const state = await a.groups.state(group.id);
    assert.equal(state.inFlight, 14);
    assert.deepEqual(
      state.consumers.map(({ name, inFlight }) => [name, inFlight]),
      [
        ['v', 7],
        ['w', 7],
      ],
    );
  });

  it('an expired lease goes to the next attempt after the retry delay on any server, then parks with its reason', async () => {
    const { group, names } = await groupWith({ ackTimeoutMs: 150, retryDelayMs: 100, maxRetries: 1 }, 1, 1);
    const first = await a.groups.lease(group.id, 'w1', 10);
    assert.equal(first.leases.length, 1);
    assert.equal(first.leases[0]!.attempt, 1);
    const waiting = await b.groups.lease(group.id, 'w2', 10);
    assert.equal(waiting.leases.length, 0);
    assert.ok(waiting.nextDueInMs !== undefined && waiting.nextDueInMs > 50 && waiting.nextDueInMs <= 150, String(waiting.nextDueInMs));
    await sleep(170);
    const released = await b.groups.lease(group.id, 'w2', 10);
    assert.equal(released.leases.length, 0, 'not before the retry delay');
    assert.ok(released.nextDueInMs !== undefined && released.nextDueInMs <= 100, String(released.nextDueInMs));
    await sleep(released.nextDueInMs + 10);
    const second = await b.groups.lease(group.id, 'w2', 10);
    assert.equal(second.leases[0]?.attempt, 2);
    assert.equal(second.leases[0]!.entry, first.leases[0]!.entry);
    const stale = await a.groups.settle(group.id, [refOf(group, first.leases[0]!)], 'retry', undefined);
    assert.deepEqual(stale.stale, [refOf(group, first.leases[0]!).id]);
    await sleep(170);
    assert.deepEqual((await a.groups.lease(group.id, 'w1', 10)).leases, []);
    const parked = await a.groups.parked(group.id, 0n, 10);
    assert.equal(parked.length, 1);
    assert.equal(parked[0]!.event.stream, names[0]);
    assert.equal(parked[0]!.attempts, 2);
    assert.match(parked[0]!.reason, /ack timeout after 2 attempts/);
    const state = await b.groups.state(group.id);
    assert.equal(state.parked, 1);
    assert.equal(state.checkpoint, (await a.groups.get(group.name))!.lastPosition, 'a parked event is settled');
    const late = await b.groups.settle(group.id, [refOf(group, second.leases[0]!)], 'ack', undefined);
    assert.deepEqual(late.alreadySettled, [refOf(group, second.leases[0]!).id]);
  });

  it('settle results: an entry settles once however often its id comes, a retry of an old attempt is stale, an ack of an old attempt settles, the last retry parks', async () => {
    const { group } = await groupWith({ maxRetries: 1, retryDelayMs: 1 }, 3, 1);
    const [x, y, z] = (await a.groups.lease(group.id, 'w', 3)).leases;
    const [rx, ry, rz] = [x!, y!, z!].map((lease) => refOf(group, lease));
    assert.deepEqual(await b.groups.settle(group.id, [rx!, rx!], 'ack', undefined), {
      settled: [rx!.id],
      alreadySettled: [rx!.id],
      stale: [],
    });
    assert.deepEqual(await b.groups.settle(group.id, [rx!], 'skip', undefined), { settled: [], alreadySettled: [rx!.id], stale: [] });
    assert.deepEqual(await b.groups.settle(group.id, [ry!, rz!], 'retry', undefined), {
      settled: [ry!.id, rz!.id],
      alreadySettled: [],
      stale: [],
    });
    assert.deepEqual(await b.groups.settle(group.id, [ry!], 'retry', undefined), { settled: [], alreadySettled: [], stale: [ry!.id] });
    assert.deepEqual(await b.groups.extend(group.id, [ry!], 1000), { settled: [], alreadySettled: [], stale: [ry!.id] });
    await sleep(10);
    const again = (await a.groups.lease(group.id, 'w', 3)).leases;
    assert.deepEqual(
      again.map((lease) => [lease.entry, lease.attempt]),
      [
        [y!.entry, 2],
        [z!.entry, 2],
      ],
    );
    const [ry2, rz2] = again.map((lease) => refOf(group, lease));
    assert.deepEqual(await b.groups.extend(group.id, [ry2!, ry!], 60_000), { settled: [ry2!.id], alreadySettled: [], stale: [ry!.id] });
    // An ack of the expired first attempt still settles the event; the current attempt is then settled too.
    assert.deepEqual(await b.groups.settle(group.id, [ry!, ry2!], 'ack', undefined), {
      settled: [ry!.id],
      alreadySettled: [ry2!.id],
      stale: [],
    });
    assert.deepEqual(await b.groups.settle(group.id, [rz2!], 'retry', 'boom'), { settled: [rz2!.id], alreadySettled: [], stale: [] });
    const parked = await a.groups.parked(group.id, 0n, 10);
    assert.deepEqual(
      parked.map(({ reason, attempts }) => [reason, attempts]),
      [['boom', 2]],
    );
    assert.equal(await a.groups.pending(group.id), 0);
    assert.equal((await a.groups.state(group.id)).settledLastMinute, 3);
  });

  it('parked events replay at attempt 1 in position order as replay entries, and can be deleted', async () => {
    const { group } = await groupWith({ strategy: 'pinned' }, 2, 3);
    const parkedIds: DeliveryRef[] = [];
    for (;;) {
      const { leases } = await a.groups.lease(group.id, 'w', 100);
      if (leases.length === 0) break;
      parkedIds.push(...leases.map((lease) => refOf(group, lease)));
      await b.groups.settle(
        group.id,
        leases.map((lease) => refOf(group, lease)),
        'park',
        undefined,
      );
    }
    assert.equal(parkedIds.length, 6, 'parking unblocks the stream');
    const page = await b.groups.parked(group.id, 0n, 4);
    assert.equal(page.length, 4);
    const rest = await b.groups.parked(group.id, page.at(-1)!.event.position, 4);
    assert.equal(rest.length, 2);
    const positions = [...page, ...rest].map((parked) => parked.event.position);
    assert.deepEqual(
      positions,
      [...positions].sort((p, q) => (p < q ? -1 : 1)),
    );
    assert.equal(await a.groups.deleteParked(group.id, [positions[0]!], 1), 1);
    assert.equal(await a.groups.replayParked(group.id, undefined, 3), 3);
    const state = await a.groups.state(group.id);
    assert.equal(state.parked, 2);
    assert.equal(state.checkpoint, (await a.groups.get(group.name))!.lastPosition, 'replayed entries never hold the checkpoint');
    const replayed = (await b.groups.lease(group.id, 'w', 100)).leases;
    assert.ok(replayed.every((lease) => lease.replay && lease.attempt === 1));
    assert.deepEqual(
      replayed.map((lease) => lease.event.position),
      [positions[1], positions[2], positions[3]].filter(
        (position, index, all) =>
          // pinned: one per stream at a time
          all.findIndex((other) => streamOf(other!) === streamOf(position!)) === index,
      ),
    );
    function streamOf(position: bigint) {
      return [...page, ...rest].find((parked) => parked.event.position === position)!.event.stream;
    }
  });

  it('entries of a deleted stream are settled when a lease reaches them; parked ones leave the pages', async () => {
    const { group, names } = await groupWith({ strategy: 'pinned' }, 2, 2);
    const first = (await a.groups.lease(group.id, 'w', 100)).leases;
    assert.equal(first.length, 2);
    await a.groups.settle(
      group.id,
      [
        refOf(
          group,
          first.find((lease) => lease.event.stream === names[0])!,
        ),
      ],
      'park',
      'x',
    );
    await a.groups.settle(
      group.id,
      [
        refOf(
          group,
          first.find((lease) => lease.event.stream === names[1])!,
        ),
      ],
      'ack',
      undefined,
    );
    await a.deleteStream(names[0]!, 'any', false);
    assert.deepEqual(await b.groups.parked(group.id, 0n, 10), []);
    assert.equal((await b.groups.state(group.id)).parked, 0);
    const next = (await b.groups.lease(group.id, 'w', 100)).leases;
    assert.deepEqual(
      next.map((lease) => lease.event.stream),
      [names[1]],
    );
    assert.equal(await a.groups.pending(group.id), 1);
  });

  it('pinned: all waiting entries of a deleted stream go at the first lease that meets one', async () => {
    const { group, names } = await groupWith({ strategy: 'pinned' }, 1, 40);
    const [kept] = await appendEvents(a, 1, 1);
    await feed(a.groups, group);
    await a.deleteStream(names[0]!, 'any', false);
    const { leases } = await b.groups.lease(group.id, 'w', 100);
    assert.deepEqual(
      leases.map((lease) => lease.event.stream),
      [kept],
    );
    assert.equal(await a.groups.pending(group.id), 1);
    assert.equal((await a.groups.state(group.id)).settledLastMinute, 40);
  });

  it('replay cursors: one at a time, moved by compare-and-set, gone once the range is read in', async () => {
    const { group } = await groupWith({}, 1, 4);
    const lastPosition = (await a.groups.get(group.name))!.lastPosition;
    const cursor = { from: lastPosition - 3n, to: lastPosition, next: lastPosition - 4n };
    const starts = await Promise.all([a.groups.startReplay(group.id, cursor), b.groups.startReplay(group.id, cursor)]);
    assert.deepEqual(starts.filter(Boolean).length, 1);
    const events = await a.readAll({ from: cursor.from, direction: 'forwards', limit: 2, filter: undefined });
    const entries = events.map((event) => ({ position: event.position, stream: event.stream }));
    const adds = await Promise.all([a, b].map((engine) => engine.groups.addReplay(group.id, cursor.next, cursor.from + 1n, entries)));
    assert.equal(adds.filter(Boolean).length, 1);
    assert.deepEqual((await b.groups.get(group.name))!.replay, { ...cursor, next: cursor.from + 1n });
    assert.equal(await a.groups.addReplay(group.id, cursor.from + 1n, cursor.to, []), true);
    assert.equal((await b.groups.get(group.name))!.replay, undefined);
    assert.equal(await b.groups.pending(group.id), 4 + 2);
    assert.equal(await a.groups.startReplay(group.id, { ...cursor, stream: 'order-1' }), true);
  });

  it('group state survives a restart: a new server carries on with the leases, settles and parked events of the old', async () => {
    const old = await server();
    const head = (await old.stats()).headPosition;
    const name = `g-${randomUUID()}`;
    const { group } = await old.groups.create(name, settingsOf({ from: head, strategy: 'pinned' }), head);
    const [stream] = await appendEvents(old, 1, 3);
    await feed(old.groups, group, old);
    const [lease] = (await old.groups.lease(group.id, 'w', 10)).leases;
    await old.groups.settle(group.id, [refOf(group, lease!)], 'park', 'later');
    const [held] = (await old.groups.lease(group.id, 'w', 10)).leases;
    await old.close();

    const restarted = await server();
    const { created, group: again } = await restarted.groups.create(name, settingsOf({ from: head, strategy: 'pinned' }), 0n);
    assert.equal(created, false);
    assert.equal(again.id, group.id);
    assert.equal(again.lastPosition, head + 3n);
    assert.deepEqual(again.settings, settingsOf({ from: head, strategy: 'pinned' }));
    const state = await restarted.groups.state(group.id);
    assert.equal(state.inFlight, 1);
    assert.equal(state.parked, 1);
    assert.equal(state.checkpoint, held!.event.position - 1n);
    assert.deepEqual(
      state.consumers.map((consumer) => consumer.name),
      ['w'],
    );
    assert.deepEqual((await restarted.groups.lease(group.id, 'w', 10)).leases, [], 'the stream is still held');
    assert.deepEqual((await restarted.groups.settle(group.id, [refOf(group, held!)], 'ack', undefined)).settled, [refOf(group, held!).id]);
    const [last] = (await restarted.groups.lease(group.id, 'w', 10)).leases;
    assert.equal(last!.event.stream, stream);
    assert.equal(last!.event.revision, 2);
    assert.equal((await restarted.groups.parked(group.id, 0n, 10))[0]!.reason, 'later');
    assert.equal(await restarted.groups.delete(name), true);
    assert.equal(await restarted.groups.get(name), undefined);
    assert.deepEqual(await restarted.groups.settle(group.id, [refOf(group, last!)], 'ack', undefined), {
      settled: [],
      alreadySettled: [refOf(group, last!).id],
      stale: [],
    });
    const { group: recreated } = await restarted.groups.create(name, settingsOf({ from: head }), head);
    assert.ok(recreated.id > group.id, 'a recreated group gets a new id');
  });

  it('a paused group records the consumer and leases nothing; settles still work', async () => {
    const { group } = await groupWith({}, 1, 2);
    const [lease] = (await a.groups.lease(group.id, 'w', 1)).leases;
    await b.groups.update(group.name, { ...group.settings, paused: true });
    assert.deepEqual(await a.groups.lease(group.id, 'late', 10), { leases: [] });
    assert.deepEqual(
      (await a.groups.state(group.id)).consumers.map((consumer) => consumer.name),
      ['late', 'w'],
    );
    assert.deepEqual((await b.groups.settle(group.id, [refOf(group, lease!)], 'ack', undefined)).settled.length, 1);
  });

  it('a lost connection makes group calls unavailable', async () => {
    const target = new URL(postgresTestUrl());
    const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
    const url = new URL(target.href);
    url.port = String(proxy.port);
    const engine = await openPostgresEngine({ url: url.href, schema, poolSize: 2, connectTimeoutMs: 300, pollIntervalMs: 600_000 });
    engines.push(engine);
    const { group } = await engine.groups.create(`g-${randomUUID()}`, settingsOf(), 0n);
    await proxy.down();
    for (const call of [() => engine.groups.lease(group.id, 'w', 1), () => engine.groups.state(group.id), () => engine.groups.list()]) {
      const error = await call().then(
        () => undefined,
        (failure: unknown) => failure,
      );
      assert.ok(error instanceof AnnalsError && error.code === 'unavailable', String(error));
    }
  });
});
