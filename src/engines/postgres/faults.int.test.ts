/**
 * Faults: terminated backends during appends, a statement timeout, an unreachable server, a listener
 * that loses its connection, and several processes migrating at once. Whatever happens, an acknowledged
 * append is in the log whole, an unacknowledged one is whole or absent, and failures say `unavailable`.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { createEventStore } from '../../store/create-store.js';
import { AnnalsError, type UnavailableError } from '../../store/errors.js';
import type { EventStore } from '../../store/event-store.js';
import { isCaughtUp, type AppendResult, type EventInput } from '../../store/model.js';
import { openPostgresEngine } from './engine.js';
import { startTcpProxy } from './testing/tcp-proxy.js';
import { dropSchema, freshSchema, openTestPostgresEngine, postgresSkipReason, postgresTestUrl } from './testing/test-database.js';

const skip = await postgresSkipReason();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A TCP proxy in front of the test PostgreSQL, and the url that reaches the server through it. */
const proxiedPostgres = async () => {
  const target = new URL(postgresTestUrl());
  const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
  const url = new URL(target.href);
  url.port = String(proxy.port);
  return { proxy, url };
};

const codeOf = (error: unknown) => (error instanceof AnnalsError ? error.code : String(error));

describe('postgres faults', { skip }, () => {
  let admin: pg.Client;
  let schema: string;
  const stores: EventStore[] = [];
  const open = async (options: { applicationName?: string; statementTimeoutMs?: number; pollIntervalMs?: number } = {}) => {
    const store = createEventStore((await openTestPostgresEngine({ schema, ...options })).engine);
    stores.push(store);
    return store;
  };
  const terminate = async (applicationName: string) =>
    (await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [applicationName])).rowCount ??
    0;

  before(async () => {
    schema = freshSchema();
    admin = new pg.Client({ connectionString: postgresTestUrl() });
    await admin.connect();
  });
  after(async () => {
    await Promise.all(stores.map((store) => store.close()));
    await admin.end();
    await dropSchema(schema);
  });

  it('terminated backends during appends lose no acknowledged append and leave no partial one', async () => {
    const applicationName = `annals-fault-${randomUUID()}`;
    const store = await open({ applicationName });
    const appends = Array.from({ length: 16 }, (_, caller) =>
      Array.from({ length: 40 }, (_, i) => ({
        stream: `fault-${caller}`,
        events: Array.from({ length: 3 }, (_, k): EventInput => ({ id: randomUUID(), type: 'Written', data: { caller, i, k } })),
      })),
    );
    const acknowledged = new Map<string, AppendResult>();
    const failed: (typeof appends)[number] = [];
    let done = false;
    const writing = Promise.all(
      appends.map(async (batches) => {
        for (const batch of batches) {
          try {
            acknowledged.set(batch.events[0]!.id!, await store.append(batch.stream, batch.events));
          } catch (error) {
            assert.equal(codeOf(error), 'unavailable', String(error));
            failed.push(batch);
          }
        }
      }),
    ).finally(() => (done = true));
    let kills = 0;
    while (!done) {
      await sleep(25);
      kills += await terminate(applicationName);
    }
    await writing;
    assert.ok(kills > 0, 'backends were terminated');
    assert.ok(failed.length > 0, 'some appends failed in flight');

    const count = (all: { id: string }[]) => {
      const counts = new Map<string, number>();
      for (const event of all) counts.set(event.id, (counts.get(event.id) ?? 0) + 1);
      return counts;
    };
    const before = count(await store.readAll());
    for (const batch of appends.flat()) {
      const present = batch.events.filter((event) => before.has(event.id!)).length;
      assert.ok(present === 0 || present === 3, `append is whole or absent, found ${present} of 3`);
      const result = acknowledged.get(batch.events[0]!.id!);
      if (result !== undefined) assert.equal(present, 3, 'an acknowledged append is in the log');
    }
    // The store reconnects by itself, and retrying the failed appends with their ids writes each once.
    for (const batch of failed) await store.append(batch.stream, batch.events);
    const afterRetry = count(await store.readAll());
    assert.equal(afterRetry.size, appends.flat().length * 3);
    for (const times of afterRetry.values()) assert.equal(times, 1);
  });

  it('a statement timeout is unavailable, and a stuck writer holds up no reader', async () => {
    const store = await open({ statementTimeoutMs: 300 });
    await store.append('timeout-1', [{ type: 'Before', data: {} }]);
    const holder = new pg.Client({ connectionString: postgresTestUrl() });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query(`SELECT pg_advisory_xact_lock('"${schema}".events'::regclass::oid::int, 0)`);
      const started = Date.now();
      const error = await store.append('timeout-1', [{ type: 'Blocked', data: {} }]).catch((e: unknown) => e);
      assert.equal(codeOf(error), 'unavailable');
      assert.equal((error as UnavailableError).reason, undefined, 'a timeout passes: no read-only mode');
      assert.match((error as Error).message, /timeout/);
      assert.ok(Date.now() - started < 3000);
      assert.ok((await store.readStream('timeout-1')).length === 1, 'readers go on while the lock is held');
    } finally {
      await holder.query('ROLLBACK');
      await holder.end();
    }
    assert.equal((await store.append('timeout-1', [{ type: 'After', data: {} }])).revision, 1);
  });

  it('a url that is no PostgreSQL url, a missing database or role: invalid_argument saying what to fix, never the password', async () => {
    const target = new URL(postgresTestUrl());
    const cases: [string, RegExp][] = [
      ['not a url', /the PostgreSQL url is 'not a url'; allowed: postgres:\/\/user\[:password\]@host\[:port\]\/database/],
      ['127.0.0.1:5432/test', /allowed: postgres:\/\//],
      ['http://user:secret@127.0.0.1/test', /'http:\/\/user:\*\*\*@127\.0\.0\.1\/test'/],
      [
        Object.assign(new URL(target.href), { pathname: '/annals_no_such_database' }).href,
        /database "annals_no_such_database" does not exist; create it, or name another/,
      ],
      [
        Object.assign(new URL(target.href), { username: 'annals_no_such_role' }).href,
        /role "annals_no_such_role" does not exist; check its user and password/,
      ],
    ];
    for (const [url, message] of cases) {
      const error = await openPostgresEngine({ url, connectTimeoutMs: 2000 }).catch((e: unknown) => e);
      assert.equal(codeOf(error), 'invalid_argument', `${url}: ${String(error)}`);
      assert.match((error as Error).message, message);
      assert.doesNotMatch((error as Error).message, /secret/);
    }
  });

  it('an unreachable server is unavailable', async () => {
    const error = await openPostgresEngine({ url: 'postgres://postgres@127.0.0.1:1/test', connectTimeoutMs: 1000 }).catch(
      (e: unknown) => e,
    );
    assert.equal(codeOf(error), 'unavailable', String(error));
  });

  it('a subscriber keeps waking up after its listening connection is terminated', async () => {
    const applicationName = `annals-listener-${randomUUID()}`;
    // No polling to speak of: only a reconnected LISTEN can wake this subscriber in time.
    const subscriber = await open({ applicationName, pollIntervalMs: 600_000 });
    const writer = await open();
    const stream = `wake-${randomUUID()}`;
    const subscription = subscriber.subscribe({ stream });
    const iterator = subscription[Symbol.asyncIterator]();
    assert.ok(isCaughtUp((await iterator.next()).value));
    await sleep(100);
    assert.ok((await terminate(applicationName)) > 0);
    const next = iterator.next();
    let delivered = false;
    void next.then(() => (delivered = true));
    for (let attempt = 0; attempt < 40 && !delivered; attempt++) {
      await writer.append(stream, [{ type: 'Ping', data: { attempt } }]);
      await sleep(100);
    }
    assert.ok(delivered, 'the subscriber woke up');
    assert.equal(((await next).value as { stream: string }).stream, stream);
    await subscription.close();
  });

  it('a restarted server: unavailable while it is down, then appends and wake-ups resume, nothing lost', async () => {
    const { proxy, url } = await proxiedPostgres();
    // No polling to speak of: after the restart only a re-established LISTEN can wake the subscriber.
    const engine = await openPostgresEngine({ url: url.href, schema, poolSize: 4, connectTimeoutMs: 500, pollIntervalMs: 600_000 });
    const store = createEventStore(engine);
    stores.push(store);
    const stream = `restart-${randomUUID()}`;
    const messages = store.subscribe({ stream })[Symbol.asyncIterator]();
    assert.ok(isCaughtUp((await messages.next()).value));
    const before = [];
    for (let i = 0; i < 5; i++) before.push(await store.append(stream, [{ type: 'Before', data: i }]));
    for (let i = 0; i < 5; i++) assert.equal(((await messages.next()).value as { type: string }).type, 'Before');

    await proxy.down();
    const during = { id: randomUUID(), type: 'During', data: {} };
    const refused = await store.append(stream, [during]).catch((error: unknown) => error);
    assert.deepEqual([codeOf(refused), (refused as UnavailableError).reason], ['unavailable', 'down']);
    assert.equal(((await store.probeWrite().catch((error: unknown) => error)) as UnavailableError).reason, 'down');
    await proxy.up();

    // Pooled connections died with the server; appends fail as unavailable until fresh ones are made, and
    // retrying with the same ids writes each event once.
    const afterwards = { id: randomUUID(), type: 'After', data: {} };
    let result;
    for (let attempt = 0; attempt < 50 && result === undefined; attempt++) {
      result = await store.append(stream, [afterwards]).catch((error: unknown) => {
        assert.equal(codeOf(error), 'unavailable', String(error));
        return sleep(100).then(() => undefined);
      });
    }
    assert.ok(result !== undefined, 'appends resume after the restart');
    await store.probeWrite();
    assert.equal(((await messages.next()).value as { type: string }).type, 'After', 'the subscriber is woken again');
    const types = (await store.readStream(stream)).map((event) => event.type);
    assert.deepEqual(types, ['Before', 'Before', 'Before', 'Before', 'Before', 'After']);
    assert.equal((await store.readStream(stream)).at(-1)!.position, result.position);
    await proxy.down();
  });

  it('an embedded subscription waits for a server that is down, reporting its state, as its retry policy says', async () => {
    const { proxy, url } = await proxiedPostgres();
    const store = createEventStore(await openPostgresEngine({ url: url.href, schema, poolSize: 2, connectTimeoutMs: 300 }));
    stores.push(store);
    const stream = `retry-${randomUUID()}`;
    await store.append(stream, [{ type: 'Before', data: {} }]);
    await proxy.down();

    const statuses: string[] = [];
    const patient = store.subscribe({
      stream,
      retry: { initialDelayMs: 20, maxDelayMs: 100 },
      onStatus: (status) => statuses.push(status.state),
    });
    const first = patient[Symbol.asyncIterator]().next();
    const impatient = store.subscribe({
      stream,
      retry: { initialDelayMs: 20, maxAttempts: 2 },
      onStatus: (status) => statuses.push(`impatient ${status.state}`),
    });
    assert.equal(
      codeOf(
        await impatient[Symbol.asyncIterator]()
          .next()
          .catch((error: unknown) => error),
      ),
      'unavailable',
    );
    assert.deepEqual(
      statuses.filter((state) => state.startsWith('impatient')),
      ['impatient reconnecting', 'impatient reconnecting', 'impatient failed'],
    );

    await sleep(300);
    await proxy.up();
    assert.equal(((await first).value as { type: string }).type, 'Before', 'the history arrives once the server is back');
    const own = statuses.filter((state) => !state.startsWith('impatient'));
    assert.ok(own.length >= 3 && own.slice(0, -1).every((state) => state === 'reconnecting'), own.join());
    assert.equal(own.at(-1), 'connected');
    await patient.close();
    await proxy.down();
  });

  it('several processes migrating one schema at once all succeed', async () => {
    const shared = freshSchema();
    try {
      const engines = await Promise.all(
        Array.from({ length: 4 }, () => openPostgresEngine({ url: postgresTestUrl(), schema: shared, poolSize: 1 })),
      );
      await Promise.all(engines.map((engine) => engine.close()));
      const { rows } = await admin.query<{ version: number }>(`SELECT version FROM "${shared}".migrations ORDER BY version`);
      assert.ok(rows.length > 0);
      assert.deepEqual(
        rows.map((row) => row.version),
        rows.map((_, index) => index + 1),
        'each migration ran once, in order',
      );
    } finally {
      await dropSchema(shared);
    }
  });
});
