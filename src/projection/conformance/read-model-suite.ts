/**
 * The read model's contract (DESIGN.md section 9), run on every read model: builds opened, created,
 * committed by compare-and-set, switched and dropped with the same rules, and a runner's rebuild that
 * queries never see fail or come back empty. Each implementation brings its own customer-totals projection
 * (its handlers speak its `Db`) and a way to read the totals through the table's plain name.
 */
import assert from 'node:assert/strict';
import { setImmediate as yieldToOthers } from 'node:timers/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { rejectsWith } from '../../store/conformance/harness.js';
import type { EventStore } from '../../store/event-store.js';
import type { RecordedEvent } from '../../store/model.js';
import type { Build, Projection, ProjectionContext, ReadModel } from '../model.js';
import { runProjection, type ProjectionRunner } from '../run.js';
import { placeOrders, type TotalsOptions } from '../testing/customer-totals.js';

export type TotalsRow = { customer: string; total: number; orders: number };

export interface ReadModelSubject<Db, Model extends ReadModel<Db>> {
  /** A fresh, empty read model, and how to dispose of it (and whatever holds it). */
  open(): Promise<{ model: Model; dispose(): Promise<void> }>;
  /** Order totals per customer (as `customerTotals`): version 2 counts each order twice; `poison` throws. */
  totals(options?: TotalsOptions): Projection<Db>;
  /** The totals as queries see them, through the table's plain name, ordered by customer. */
  rows(model: Model, table?: string): Promise<TotalsRow[]>;
  /** Whether the read model holds the table of this (suffixed) name; on memory, whether it holds rows. */
  hasTable(model: Model, name: string): Promise<boolean>;
  /** An empty event store for runners to read (a memory one will do). */
  openStore(): Promise<EventStore>;
}

/** What the totals of orders `0 .. count - 1` (as `placeOrders` writes them) come to. */
export const expectedTotals = (count: number, version = 1): TotalsRow[] => {
  const rows = new Map<string, TotalsRow>();
  for (let index = 0; index < count; index++) {
    const customer = `c${index % 7}`;
    const row = rows.get(customer) ?? { customer, total: 0, orders: 0 };
    rows.set(customer, { customer, total: row.total + index + 1, orders: row.orders + (version === 2 ? 2 : 1) });
  }
  return [...rows.values()].sort((a, b) => a.customer.localeCompare(b.customer));
};

/** Orders `start .. start + count - 1` as recorded events, for calling handlers without a store. */
const orders = (count: number, start = 0): RecordedEvent[] =>
  Array.from({ length: count }, (_, offset) => {
    const index = start + offset;
    return {
      id: `00000000-0000-4000-8000-${String(index).padStart(12, '0')}`,
      stream: 'orders',
      revision: index,
      position: BigInt(index + 1),
      type: 'OrderPlaced',
      data: { customer: `c${index % 7}`, total: index + 1 },
      metadata: {},
      recordedAt: new Date(),
    };
  });

/** Runs the projection's handlers (or its batch handler) on `events`: synchronously unless a handler returns a promise. */
const handle = <Db>(projection: Projection<Db>, db: Db, context: ProjectionContext, events: RecordedEvent[]): void | Promise<void> => {
  if (projection.handleBatch !== undefined) return projection.handleBatch(db, events, context);
  let chain: Promise<void> | undefined;
  for (const event of events) {
    const handler = projection.handlers[event.type]!;
    if (chain !== undefined) chain = chain.then(() => handler(db, event, context));
    else {
      const result = handler(db, event, context);
      if (result instanceof Promise) chain = result;
    }
  }
  return chain;
};

const until = async (what: string, done: () => boolean, runner?: ProjectionRunner) => {
  for (let waited = 0; !done(); waited += 5) {
    const status = runner?.status();
    assert.ok(waited < 30_000, `stuck waiting for ${what}${status === undefined ? '' : `: ${status.state} at ${status.position}`}`);
    if (status?.state === 'failed') assert.fail(`the runner failed: ${status.lastError?.message}`);
    await sleep(5);
  }
};

export const describeReadModelConformance = <Db, Model extends ReadModel<Db>>(name: string, subject: ReadModelSubject<Db, Model>): void => {
  const test = (title: string, body: (model: Model) => Promise<void>) =>
    void it(title, async () => {
      const { model, dispose } = await subject.open();
      try {
        await body(model);
      } finally {
        await dispose();
      }
    });
  /** Applies orders `start .. start + count - 1` to the build and moves its checkpoint from `from` to `to`. */
  const commitOrders = (model: Model, projection: Projection<Db>, build: Build, from: bigint, to: bigint, count: number, start = 0) =>
    model.commit(build, from, to, (db) =>
      handle(projection, db, { ...model.context(build), replay: false, invalidate: () => undefined }, orders(count, start)),
    );
  const sorted = (builds: Build[]) => builds.map(({ build, version, position, active }) => ({ build, version, position, active }));

  describe(`read model conformance: ${name}`, () => {
    test('open reuses the active build of the version, else the newest unfinished build, else creates one', async (model) => {
      const first = await model.open(subject.totals());
      assert.deepEqual({ ...first, build: 0 }, { name: 'customer-totals', version: 1, build: 0, position: 0n, active: true });
      assert.deepEqual(await subject.rows(model), [], 'the first build is active at once: its table is there to query');
      assert.equal((await model.open(subject.totals())).build, first.build);
      const second = await model.open(subject.totals({ version: 2 }));
      assert.ok(second.build > first.build);
      assert.deepEqual(
        { version: second.version, active: second.active, position: second.position },
        { version: 2, active: false, position: 0n },
      );
      assert.equal((await model.open(subject.totals({ version: 2 }))).build, second.build, 'the unfinished build of version 2');
      const third = await model.create(subject.totals({ version: 2 }));
      assert.ok(third.build > second.build && !third.active);
      assert.equal((await model.open(subject.totals({ version: 2 }))).build, third.build, 'the newest build of version 2');
      assert.equal((await model.open(subject.totals())).build, first.build, 'version 1 is still the active build');
      assert.deepEqual(sorted(await model.builds('customer-totals')), [
        { build: first.build, version: 1, position: 0n, active: true },
        { build: second.build, version: 2, position: 0n, active: false },
        { build: third.build, version: 2, position: 0n, active: false },
      ]);
      const other = await model.open(subject.totals({ name: 'other-totals', table: 'other_totals' }));
      assert.ok(other.build > third.build, 'build numbers count across the read model');
      assert.ok(other.active);
      assert.deepEqual(await model.builds('nobody'), []);
    });

    test('commit applies and moves the checkpoint by compare-and-set; a stale one writes nothing', async (model) => {
      const projection = subject.totals();
      const build = await model.open(projection);
      assert.equal(await commitOrders(model, projection, build, 0n, 3n, 3), true);
      assert.deepEqual(await subject.rows(model), expectedTotals(3));
      assert.equal(await commitOrders(model, projection, build, 0n, 5n, 2, 3), false, 'the checkpoint is at 3, not 0');
      assert.deepEqual(await subject.rows(model), expectedTotals(3));
      assert.equal((await model.builds('customer-totals'))[0]!.position, 3n);
      assert.equal(await commitOrders(model, projection, build, 3n, 5n, 2, 3), true);
      assert.deepEqual(await subject.rows(model), expectedTotals(5));
      assert.equal((await model.builds('customer-totals'))[0]!.position, 5n);
    });

    test('a throwing apply writes nothing, moves no checkpoint, and reaches the caller', async (model) => {
      const projection = subject.totals({ poison: 2 });
      const build = await model.open(projection);
      await assert.rejects(commitOrders(model, projection, build, 0n, 3n, 3), /cannot take a total of 2/);
      assert.deepEqual(await subject.rows(model), [], 'the change of the order before the poisoned one is undone too');
      assert.equal((await model.builds('customer-totals'))[0]!.position, 0n);
      await assert.rejects(
        model.commit(build, 0n, 1n, () => {
          throw new Error('refused');
        }),
        /refused/,
      );
      assert.equal((await model.builds('customer-totals'))[0]!.position, 0n);
    });

    test('activate refuses a build behind the serving one, and otherwise switches what queries see', async (model) => {
      const one = subject.totals();
      const two = subject.totals({ version: 2 });
      const first = await model.open(one);
      assert.ok(await commitOrders(model, one, first, 0n, 5n, 5));
      const second = await model.create(two);
      assert.ok(await commitOrders(model, two, second, 0n, 3n, 3));
      assert.equal(await model.activate(second), false, 'build 2 is at 3, the serving build at 5');
      assert.deepEqual(await subject.rows(model), expectedTotals(5));
      assert.ok(await commitOrders(model, two, second, 3n, 5n, 2, 3));
      assert.equal(await model.activate(second), true);
      assert.deepEqual(await subject.rows(model), expectedTotals(5, 2), 'queries by the plain name see the new build');
      assert.deepEqual(
        (await model.builds('customer-totals')).map((build) => build.active),
        [false, true],
      );
      assert.equal(await model.activate(second), true, 'already active');
      assert.equal(await model.activate(first), true, 'the old build has reached the serving one (5)');
      assert.deepEqual(await subject.rows(model), expectedTotals(5));
      assert.deepEqual((await model.open(two)).build, second.build, 'version 2 is still there, unfinished');
    });

    test('drop refuses the active build and removes an inactive one with its tables', async (model) => {
      const one = subject.totals();
      const first = await model.open(one);
      assert.ok(await commitOrders(model, one, first, 0n, 4n, 4));
      const second = await model.create(one);
      assert.ok(await commitOrders(model, one, second, 0n, 4n, 4));
      assert.ok(await model.activate(second));
      await rejectsWith(model.drop(second), 'conflict');
      assert.ok(await subject.hasTable(model, `totals__${first.build}`));
      await model.drop(first);
      assert.equal(await subject.hasTable(model, `totals__${first.build}`), false);
      assert.deepEqual(
        (await model.builds('customer-totals')).map((build) => build.build),
        [second.build],
      );
      assert.equal(await commitOrders(model, one, first, 4n, 5n, 1, 4), false, 'a dropped build takes no commit');
      assert.deepEqual(await subject.rows(model), expectedTotals(4));
      await model.drop(first);
    });

    test('two projections cannot point one table name', async (model) => {
      await model.open(subject.totals({ name: 'first' }));
      await rejectsWith(model.open(subject.totals({ name: 'second' })), 'conflict');
      assert.deepEqual(await model.builds('second'), [], 'the refused build is not kept');
      const elsewhere = await model.open(subject.totals({ name: 'second', table: 'second_totals' }));
      assert.ok(elsewhere.active);
    });

    test('a runner brings the read model to the totals of the log, history and live events', async (model) => {
      const store = await subject.openStore();
      try {
        await placeOrders(store, 1500);
        const runner = runProjection(store, subject.totals(), model, { batchSize: 100 });
        await until('history', () => runner.status().position === 1500n, runner);
        await placeOrders(store, 5, 1500);
        await until('live events', () => runner.status().position === 1505n, runner);
        assert.deepEqual(await subject.rows(model), expectedTotals(1505));
        await runner.close();
      } finally {
        await store.close();
      }
    });

    test('a rebuild while a reader queries the table: no error, never an empty result, then the new build only', async (model) => {
      const store = await subject.openStore();
      try {
        await placeOrders(store, 3000);
        const runner = runProjection(store, subject.totals(), model, { batchSize: 100 });
        await until('history', () => runner.status().position === 3000n, runner);
        const serving = (await model.builds('customer-totals'))[0]!;
        let reading = true;
        let reads = 0;
        const reader = (async () => {
          while (reading) {
            const rows = await subject.rows(model);
            assert.equal(rows.length, 7, `read ${reads + 1} found ${rows.length} rows`);
            reads++;
            await yieldToOthers();
          }
        })();
        try {
          await runner.rebuild();
          await sleep(20);
        } finally {
          reading = false;
          await reader;
        }
        assert.ok(reads > 1, `the reader read ${reads} times`);
        assert.deepEqual(await subject.rows(model), expectedTotals(3000));
        const builds = await model.builds('customer-totals');
        assert.equal(builds.length, 1, 'the old build of the same version is dropped');
        assert.ok(builds[0]!.active && builds[0]!.build > serving.build);
        await runner.close();
      } finally {
        await store.close();
      }
    });
  });
};
