/**
 * The global order under real concurrency: several engines (as several Annals processes would) write
 * into one schema while readers page through `$all`; every reader must see every event exactly once, in
 * strictly increasing positions. And 64 writers race on one stream with exact expected revisions.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { createEventStore } from '../../store/create-store.js';
import { AnnalsError } from '../../store/errors.js';
import type { EventStore } from '../../store/event-store.js';
import { freshSchema, dropSchema, openTestPostgresEngine, postgresSkipReason, postgresTestUrl } from './testing/test-database.js';

const skip = await postgresSkipReason();

const openStores = async (schema: string, count: number): Promise<EventStore[]> =>
  Promise.all(Array.from({ length: count }, async () => createEventStore((await openTestPostgresEngine({ schema, poolSize: 2 })).engine)));

describe('postgres global order', { skip }, () => {
  let schema: string;
  let stores: EventStore[] = [];
  before(async () => {
    schema = freshSchema();
    stores = await openStores(schema, 10);
  });
  after(async () => {
    await Promise.all(stores.map((store) => store.close()));
    await dropSchema(schema);
  });

  it('readers polling $all see every event of 8 concurrent writers once, in increasing positions', async () => {
    const writers = stores.slice(0, 8);
    const readers = stores.slice(8);
    const appendsPerCaller = 130;
    const callersPerWriter = 8;
    const eventsPerAppend = (i: number) => 1 + (i % 5);
    let expected = 0;
    for (let i = 0; i < appendsPerCaller; i++) expected += eventsPerAppend(i);
    expected *= writers.length * callersPerWriter;

    // A long transaction elsewhere in the database must not hold readers back.
    const bystander = new pg.Client({ connectionString: postgresTestUrl() });
    await bystander.connect();
    await bystander.query('BEGIN');
    await bystander.query('SELECT txid_current()');

    let writing = true;
    const read = async (store: EventStore) => {
      const seen: string[] = [];
      let last = 0n;
      while (seen.length < expected) {
        const page = await store.readAll({ from: last + 1n, limit: 500 });
        for (const event of page) {
          assert.ok(event.position > last, `position ${event.position} after ${last}`);
          last = event.position;
          seen.push(event.id);
        }
        if (page.length === 0) {
          if (!writing) break;
          await new Promise((resolve) => setTimeout(resolve, 2));
        }
      }
      return seen;
    };
    const reading = readers.map(read);
    const written: string[] = [];
    await Promise.all(
      writers.flatMap((store, w) =>
        Array.from({ length: callersPerWriter }, async (_, c) => {
          for (let i = 0; i < appendsPerCaller; i++) {
            const batch = Array.from({ length: eventsPerAppend(i) }, () => ({ id: randomUUID(), type: 'Counted', data: { w, c, i } }));
            await store.append(`counter-${w}-${c % 3}`, batch);
            written.push(...batch.map((event) => event.id));
          }
        }),
      ),
    );
    writing = false;
    const seenByReaders = await Promise.all(reading);
    await bystander.query('ROLLBACK');
    await bystander.end();

    assert.equal(written.length, expected);
    const all = new Set(written);
    for (const seen of seenByReaders) {
      assert.equal(seen.length, expected);
      assert.equal(new Set(seen).size, expected, 'no event seen twice');
      for (const id of seen) assert.ok(all.has(id));
    }
  });

  it('64 writers racing on one stream with exact expected revisions: one winner per revision, no gaps', async () => {
    const stream = `race-${randomUUID()}`;
    const target = 250;
    const won = new Map<number, string>();
    let conflicts = 0;
    await Promise.all(
      Array.from({ length: 64 }, async (_, writer) => {
        const store = stores[writer % 8]!;
        while (won.size < target) {
          const [last] = await store.readStream(stream, { direction: 'backwards', limit: 1 });
          const id = randomUUID();
          try {
            const result = await store.append(stream, [{ id, type: 'Raced', data: { writer } }], {
              expectedRevision: last === undefined ? 'no_stream' : last.revision,
            });
            assert.equal(won.has(result.revision), false, `revision ${result.revision} won twice`);
            won.set(result.revision, id);
          } catch (error) {
            assert.ok(error instanceof AnnalsError && error.code === 'wrong_expected_revision', String(error));
            conflicts++;
          }
        }
      }),
    );
    const events = await stores[9]!.readStream(stream);
    assert.deepEqual(
      events.map((event) => event.revision),
      [...Array(events.length).keys()],
    );
    assert.equal(events.length, won.size);
    for (const event of events) assert.equal(won.get(event.revision), event.id);
    assert.ok(conflicts > 0, 'the writers did race');
  });
});
