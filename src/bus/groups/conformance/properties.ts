/**
 * Property-based tests of a consumer group against a model of what must hold, whatever the order of
 * pulls, acks, nacks, lease timeouts and restarts: no event is lost, none is delivered after it was
 * settled, every settle answers as the model says, the checkpoint never passes an unsettled event, and
 * under `pinned` an event is delivered only once every earlier event of its stream is settled.
 *
 * Lease timeouts happen in real time, so the model knows when a lease may have expired, not when the
 * store noticed: an event whose lease may have run out on its last allowed attempt is "maybe parked".
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import fc from 'fast-check';
import { withSeed } from '../../../testing/seed.js';
import type { EventStore } from '../../../store/event-store.js';
import type { Delivery, GroupStrategy, NackAction } from '../model.js';
import type { GroupConformanceOptions } from './suite.js';

/** The test file that runs this shared suite: what a failure tells the reader to run again. */
const testFile = pathToFileURL(process.argv[1] ?? '').href;

type Operation =
  | { kind: 'append'; stream: string; count: number }
  | { kind: 'pull'; consumer: string; max: number }
  | { kind: 'ack' | 'nack'; pick: number[]; action: NackAction }
  | { kind: 'sleep'; ms: number }
  | { kind: 'restart' };

const ackTimeoutMs = 60;
const maxRetries = 2;

const operation = (restarts: boolean): fc.Arbitrary<Operation> =>
  fc.oneof(
    {
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constant('append' as const),
        stream: fc.constantFrom('a-1', 'a-2', 'b-1'),
        count: fc.integer({ min: 1, max: 3 }),
      }),
    },
    {
      weight: 4,
      arbitrary: fc.record({
        kind: fc.constant('pull' as const),
        consumer: fc.constantFrom('c1', 'c2'),
        max: fc.integer({ min: 1, max: 4 }),
      }),
    },
    {
      weight: 4,
      arbitrary: fc.record({
        kind: fc.constantFrom('ack' as const, 'nack' as const),
        pick: fc.array(fc.nat(), { minLength: 1, maxLength: 3 }),
        action: fc.constantFrom<NackAction>('retry', 'retry', 'park', 'skip'),
      }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('sleep' as const), ms: fc.integer({ min: 0, max: ackTimeoutMs * 2 }) }) },
    { weight: restarts ? 1 : 0, arbitrary: fc.constant({ kind: 'restart' as const }) },
  );

interface Known {
  stream: string;
  revision: number;
  /** Settled for sure (acked, skipped, parked by a nack), or maybe parked by a lease that ran out. */
  state: 'unsettled' | 'settled' | 'maybeParked';
}

const run = async (options: GroupConformanceOptions, strategy: GroupStrategy, operations: Operation[]) => {
  let store: EventStore = await options.open();
  try {
    await store.groups.create('g', { strategy, ackTimeoutMs, retryDelayMs: 0, maxRetries, maxPending: 5 });
    const known = new Map<bigint, Known>();
    /** Every delivery handed out, with when it was leased. */
    const handed: { delivery: Delivery; at: number }[] = [];

    const mayHaveExpired = (at: number) => Date.now() - at >= ackTimeoutMs - 5;
    const checkDelivery = (delivery: Delivery) => {
      const { position, stream, revision } = delivery.event;
      const entry = known.get(position);
      assert.ok(entry !== undefined, `delivered ${position}, which was never appended`);
      assert.notEqual(entry.state, 'settled', `delivered ${position} (attempt ${delivery.attempt}) after it was settled`);
      if (strategy === 'pinned') {
        for (const [earlier, other] of known) {
          if (other.stream === stream && other.revision < revision) {
            assert.notEqual(
              other.state,
              'unsettled',
              `pinned: delivered ${stream}@${revision} while ${stream}@${other.revision} (${earlier}) was unsettled`,
            );
          }
        }
      }
    };
    const settleFor = (picked: { delivery: Delivery }[], result: { settled: string[]; alreadySettled: string[] }) => {
      const seen = new Set<bigint>();
      for (const { delivery } of picked) {
        const position = delivery.event.position;
        const entry = known.get(position)!;
        const answer = result.settled.includes(delivery.id) ? 'settled' : result.alreadySettled.includes(delivery.id) ? 'already' : 'stale';
        if (entry.state === 'unsettled' && !seen.has(position)) assert.equal(answer, 'settled', `${delivery.id} of unsettled ${position}`);
        if (entry.state === 'settled' || seen.has(position)) assert.notEqual(answer, 'settled', `${delivery.id} settled ${position} twice`);
        if (answer === 'settled') entry.state = 'settled';
        if (answer === 'already') entry.state = 'settled';
        seen.add(position);
      }
    };

    for (const op of operations) {
      switch (op.kind) {
        case 'append': {
          const { position, revision } = await store.append(
            op.stream,
            Array.from({ length: op.count }, () => ({ type: 'T', data: {} })),
          );
          for (let index = 0; index < op.count; index++) {
            known.set(position - BigInt(op.count - 1 - index), {
              stream: op.stream,
              revision: revision - (op.count - 1 - index),
              state: 'unsettled',
            });
          }
          break;
        }
        case 'pull': {
          const got = await store.groups.pull('g', { consumer: op.consumer, max: op.max });
          const streams = new Set<string>();
          for (const delivery of got) {
            checkDelivery(delivery);
            if (strategy === 'pinned') {
              assert.ok(!streams.has(delivery.event.stream), `pinned: two deliveries of ${delivery.event.stream} in one pull`);
              streams.add(delivery.event.stream);
            }
            handed.push({ delivery, at: Date.now() });
          }
          break;
        }
        case 'ack':
        case 'nack': {
          if (handed.length === 0) break;
          // Each delivery once: the suite covers an id given twice in one call.
          const picked = [...new Set(op.pick.map((index) => handed[index % handed.length]!))];
          const ids = picked.map(({ delivery }) => delivery.id);
          if (op.kind === 'ack' || op.action !== 'retry') {
            const result = op.kind === 'ack' ? await store.groups.ack('g', ids) : await store.groups.nack('g', ids, { action: op.action });
            settleFor(picked, result);
            break;
          }
          const result = await store.groups.nack('g', ids, { action: 'retry' });
          for (const { delivery } of picked) {
            const entry = known.get(delivery.event.position)!;
            if (result.settled.includes(delivery.id) && delivery.attempt >= maxRetries + 1) entry.state = 'settled';
            if (result.alreadySettled.includes(delivery.id)) {
              assert.notEqual(
                entry.state,
                'unsettled',
                `retry of ${delivery.id}: alreadySettled, but ${delivery.event.position} is unsettled`,
              );
              entry.state = 'settled';
            }
          }
          break;
        }
        case 'sleep':
          await sleep(op.ms);
          break;
        case 'restart':
          store = await options.reopen!(store);
          break;
      }
      // A lease that may have run out on its last allowed attempt may have parked its event.
      for (const { delivery, at } of handed) {
        const entry = known.get(delivery.event.position)!;
        if (entry.state === 'unsettled' && delivery.attempt >= maxRetries + 1 && mayHaveExpired(at)) entry.state = 'maybeParked';
      }
      const { checkpoint } = await store.groups.info('g');
      for (const [position, entry] of known) {
        if (entry.state === 'unsettled') assert.ok(checkpoint < position, `checkpoint ${checkpoint} passed unsettled ${position}`);
      }
    }

    // Drain: settle everything; every event ends settled, and the parked list holds exactly those parked.
    await store.groups.update('g', { maxRetries: 1000, ackTimeoutMs: 30_000 });
    for (let rounds = 0; ; rounds++) {
      assert.ok(rounds < 200, 'the group never drained');
      const got = await store.groups.pull('g', { consumer: 'drain', max: 100, waitMs: ackTimeoutMs * 2 });
      for (const delivery of got) checkDelivery(delivery);
      if (got.length > 0)
        settleFor(
          got.map((delivery) => ({ delivery })),
          await store.groups.ack(
            'g',
            got.map((delivery) => delivery.id),
          ),
        );
      const info = await store.groups.info('g');
      if (got.length === 0 && info.pending === 0 && info.lag.events === 0) {
        assert.equal(info.checkpoint, info.lastPosition);
        break;
      }
    }
    const parked = new Set((await store.groups.parked('g', { limit: 1000 })).parked.map((entry) => entry.event.position));
    for (const [position, entry] of known) {
      assert.ok(entry.state !== 'unsettled' || parked.has(position), `${position} was never settled`);
    }
  } finally {
    await store.close();
  }
};

export const describeGroupProperties = (
  name: string,
  options: GroupConformanceOptions,
  numRuns = Number(process.env.ANNALS_PROPERTY_RUNS ?? 15),
): void => {
  for (const strategy of ['round_robin', 'pinned'] as const) {
    it(`consumer group properties (${strategy}): ${name}`, () =>
      withSeed(testFile, (seed) =>
        fc.assert(
          fc.asyncProperty(fc.array(operation(options.reopen !== undefined), { minLength: 5, maxLength: 40 }), (operations) =>
            run(options, strategy, operations),
          ),
          { numRuns, seed, includeErrorInReport: true },
        ),
      ));
  }
};
