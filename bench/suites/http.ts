/**
 * The server over HTTP, on SQLite with durability `fsync` and authentication on, driven by the Annals
 * client from another process, beside the same client driving a bare Fastify server that does no work
 * (the HTTP limit): single-event appends from 64 concurrent keep-alive callers, and NDJSON `$all` reads.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Pool } from 'undici';
import { connect } from '../../src/client/index.js';
import { openEventStore } from '../../src/engines/open.js';
import { recordedToJson } from '../../src/protocol/wire.js';
import { withServer } from '../http/processes.js';
import { percentile, perSecond, timed, type BenchSuite, type Measurement } from '../harness.js';
import { appendFromCallers, callConcurrently, eventOf, preload, scaled } from '../workload.js';

const callers = 64;

/** 64 callers appending one event per call through the client; a short warm-up first. */
const appendLoad = async (url: string, token: string | undefined, total: number) => {
  const store = connect(url, { token, connections: callers });
  try {
    await appendFromCallers(store, callers, Math.min(total / callers, 50));
    const { ms, latencies } = await appendFromCallers(store, callers, total / callers);
    return {
      perSecond: perSecond(total, ms),
      p50: percentile(latencies, 50),
      p95: percentile(latencies, 95),
      p99: percentile(latencies, 99),
    };
  } finally {
    await store.close();
  }
};

/**
 * The same 64-caller loop posting the same bodies through a bare undici Pool: with the client's own
 * figure against the bare server, it tells how much of the gap is the client and how much the server.
 */
const rawAppendLoad = async (url: string, total: number) => {
  const pool = new Pool(url, { connections: callers, keepAliveTimeout: 30_000 });
  const post = async (index: number) => {
    const event = eventOf(index);
    const body = `{"expectedRevision":"any","events":[{"id":"${randomUUID()}","type":"${event.type}","data":${JSON.stringify(event.data)}}]}`;
    const response = await pool.request({
      method: 'POST',
      path: '/streams/order-0',
      body,
      headers: { 'content-type': 'application/json' },
    });
    await response.body.text();
  };
  const loop = (perCaller: number) => callConcurrently(callers, perCaller, (_, index) => post(index));
  try {
    await loop(Math.min(total / callers, 50));
    const { ms, latencies } = await loop(total / callers);
    return { perSecond: perSecond(total, ms), p99: percentile(latencies, 99) };
  } finally {
    await pool.close();
  }
};

const readLoad = async (url: string, token: string | undefined, expected: number) => {
  const store = connect(url, { token });
  try {
    let count = 0;
    const ms = await timed(async () => {
      for await (const event of store.iterateAll()) if (event.revision >= 0) count++;
    });
    if (count !== expected) throw new Error(`read ${count} events, expected ${expected}`);
    return perSecond(count, ms);
  } finally {
    await store.close();
  }
};

export const suite: BenchSuite = {
  name: 'http',
  async run(context) {
    const dir = context.tempDir();
    const token = randomBytes(32).toString('base64url');
    const appends = Math.round(scaled(context, 60_000, 640) / callers) * callers;

    const logLength = scaled(context, 1_000_000, 2_000);
    context.progress(`writing ${logLength.toLocaleString('en-US')} events for the $all read`);
    const readsPath = join(dir, 'reads.db');
    const store = await openEventStore({ engine: 'sqlite', path: readsPath, durability: 'os' });
    await preload(store, logLength, { batch: 1000, streams: 100 });
    const [sample] = await store.readAll({ limit: 1 });
    await store.close();
    const line = join(dir, 'line.ndjson');
    writeFileSync(line, `${JSON.stringify(recordedToJson(sample!))}\n`);

    context.progress(`${appends.toLocaleString('en-US')} appends from ${callers} callers, then the same against the bare server`);
    const annals = await withServer(['annals', join(dir, 'appends.db'), token], (url) => appendLoad(url, token, appends));
    const { limit, raw } = await withServer(['bare', line, '0'], async (url) => ({
      limit: await appendLoad(url, undefined, appends),
      raw: await rawAppendLoad(url, appends),
    }));

    context.progress('reading $all as NDJSON, then the same lines from the bare server');
    const readAnnals = await withServer(['annals', readsPath, token], (url) => readLoad(url, token, logLength));
    const readLimit = await withServer(['bare', line, String(logLength)], (url) => readLoad(url, undefined, logLength));

    const details = (figures: typeof annals) => ({
      p50Ms: figures.p50,
      p95Ms: figures.p95,
      p99Ms: figures.p99,
      client: 'annals/client, 64 keep-alive connections',
    });
    return [
      {
        name: `HTTP append, 1 event per call, ${callers} concurrent clients`,
        unit: 'events/s',
        value: annals.perSecond,
        limit: { name: 'bare Fastify route, same client', value: limit.perSecond },
        target: '>= 15000',
        details: { ...details(annals), limitP99Ms: limit.p99, rawUndiciLimitEventsPerSecond: raw.perSecond, rawUndiciLimitP99Ms: raw.p99 },
      },
      {
        name: 'HTTP append latency p99',
        unit: 'ms',
        value: annals.p99,
        limit: { name: 'bare Fastify route, same client', value: limit.p99 },
        target: '<= 15',
      },
      {
        name: `HTTP NDJSON $all read, ${logLength.toLocaleString('en-US')} events`,
        unit: 'events/s',
        value: readAnnals,
        limit: { name: 'bare Fastify route streaming the same lines, same client', value: readLimit },
        target: '>= 200000',
        details: { client: 'annals/client iterateAll (NDJSON line parsing) against both servers' },
      },
    ] satisfies Measurement[];
  },
};
