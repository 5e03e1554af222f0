/**
 * The gateway (DESIGN.md section 10, issue 13): requests per second and latency percentiles through
 * gateway + orders + Annals, beside the same requests sent to `orders` directly and to Annals directly, so
 * that each layer's cost shows; the latency the gateway adds on a route that does no work, at a fixed
 * 2,000 requests a second; and the throughput of 2 gateway workers over 1 on that route.
 *
 * Every part is a real process on loopback: `annals serve --dev` (SQLite, durability fsync, no
 * authentication), the shop's orders service, a bare Fastify upstream (`bench/http/serve.ts`, `GET /noop`)
 * and `annals gateway` at its default log level (two JSON lines per request, to a file). autocannon drives
 * them from this process at full load (32 keep-alive connections, one thread); the fixed-rate runs use the
 * open loop of `workload.ts`, because autocannon's `overallRate` sends each connection's share of a second
 * in a burst at the start of that second, and its histograms count whole milliseconds. Latencies are taken
 * from each response, to a fraction of a millisecond, for 2xx answers only.
 *
 * On a 2-core machine the load generator and every process under test share the two cores: a figure at
 * full load is what the whole chain does on them, not what one layer does with a core of its own. Each
 * run's details give the CPU each process and the machine used (from `/proc`), to read the figures by.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { Pool } from 'undici';
import { freePort } from '../../src/cli/testing/processes.js';
import { machineCpuSeconds, startLogged, treeCpuSecondsOf, type LoggedProcess } from '../http/processes.js';
import { percentile, type BenchContext, type BenchSuite, type Measurement } from '../harness.js';
import { eventData, paced } from '../workload.js';

const connections = 32;
/** The fixed rate of the added-latency runs, requests per second. */
const rate = 2000;
/** Gateway workers (`annals gateway --workers`) for the routes through the gateway. */
const workers = 2;

interface Request {
  method: 'GET' | 'POST';
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

const json = { 'content-type': 'application/json' };
/** One event per request, each to a stream of its own (autocannon puts a unique id for `[<id>]`). */
const append: Request = {
  method: 'POST',
  path: '/streams/order-[<id>]',
  headers: json,
  body: JSON.stringify({ expectedRevision: 'any', events: [{ type: 'OrderPlaced', data: eventData(1) }] }),
};
/** A new order per request: a unique `Idempotency-Key` each time, so none is a replay. */
const placeOrder: Request = {
  method: 'POST',
  path: '/orders',
  headers: { ...json, 'idempotency-key': 'bench-[<id>]' },
  body: JSON.stringify({ customer: 'customer-1', lines: [{ sku: 'sku-1', quantity: 2, price: 1250 }] }),
};
const noop: Request = { method: 'GET', path: '/noop' };

interface Figures {
  perSecond: number;
  p50: number;
  p99: number;
  /** 2xx answers counted. */
  requests: number;
  /** Errors, timeouts and answers other than 2xx. */
  failed: number;
  /**
   * CPU used during the run, in cores (CPU seconds over wall seconds): the load generator (this process),
   * each process under test (a gateway with its workers), and the whole machine.
   */
  cores: Record<string, number>;
}

/** Counts CPU from now on: the load generator's, each of `pids`' (with descendants) and the machine's. */
const cpuMeter = (pids: Record<string, number>) => {
  const own = process.cpuUsage();
  const machine = machineCpuSeconds();
  const before = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, treeCpuSecondsOf(pid)]));
  return (seconds: number): Record<string, number> => {
    const used = process.cpuUsage(own);
    const cores: Record<string, number> = { 'load generator': (used.user + used.system) / 1e6 / seconds };
    for (const [name, pid] of Object.entries(pids)) cores[name] = (treeCpuSecondsOf(pid) - before[name]!) / seconds;
    cores.machine = (machineCpuSeconds().busy - machine.busy) / seconds;
    return Object.fromEntries(Object.entries(cores).map(([name, value]) => [name, Number(value.toFixed(2))]));
  };
};

const figuresOf = (latencies: number[], seconds: number, failed: number, cores: Record<string, number>): Figures => ({
  perSecond: latencies.length / seconds,
  p50: percentile(latencies, 50),
  p99: percentile(latencies, 99),
  requests: latencies.length,
  failed,
  cores,
});

/** Fails the run when more than 1% of the requests failed: the figures would not be of the work asked for. */
const checked = (what: string, figures: Figures, detail = '') => {
  if (figures.failed > (figures.requests + figures.failed) / 100)
    throw new Error(`${what}: ${figures.failed} of ${figures.requests + figures.failed} requests failed ${detail}`);
  return figures;
};

/** How long a full-load run lasts: seconds, or (in a smoke run) a number of requests, however slow they are. */
type Length = { duration: number } | { amount: number };

/** autocannon at full load for `length`, with every response's latency. */
const fullLoad = (what: string, url: string, request: Request, length: Length, pids: Record<string, number>) =>
  new Promise<Figures>((resolve, reject) => {
    const latencies: number[] = [];
    const cpu = cpuMeter(pids);
    const start = performance.now();
    const instance = autocannon(
      // sampleInt: autocannon otherwise runs on to the next whole second of its per-second samples.
      { url: url + request.path, connections, ...length, sampleInt: 100, idReplacement: true, ...request },
      (error: unknown, result: autocannon.Result) => {
        if (error) return reject(error instanceof Error ? error : new Error(String(error)));
        const failed = result.errors + result.timeouts + result.non2xx;
        const seconds = (performance.now() - start) / 1000;
        try {
          resolve(checked(what, figuresOf(latencies, seconds, failed, cpu(seconds)), JSON.stringify(result.statusCodeStats)));
        } catch (failure) {
          reject(failure instanceof Error ? failure : new Error(String(failure)));
        }
      },
    );
    instance.on('response', (_client, status, _bytes, ms) => {
      if (status >= 200 && status < 300) latencies.push(ms);
    });
  });

/** A short full-load run whose figures are dropped (JIT, connection pools, SQLite's cache), then the real one. */
const warmedFullLoad = async (what: string, url: string, request: Request, length: Length, pids: Record<string, number>) => {
  await fullLoad(what, url, request, 'amount' in length ? { amount: length.amount / 4 } : { duration: length.duration / 5 }, {});
  return fullLoad(what, url, request, length, pids);
};

/** `GET path` at a fixed `rate` for `seconds`, an open loop (a slow answer delays no later request). */
const fixedRate = async (what: string, url: string, path: string, seconds: number, pids: Record<string, number>): Promise<Figures> => {
  const pool = new Pool(url, { connections, keepAliveTimeout: 30_000 });
  const latencies: number[] = [];
  let failed = 0;
  const cpu = cpuMeter(pids);
  try {
    const start = performance.now();
    await paced(Math.round(rate * seconds), rate, async () => {
      const sent = performance.now();
      try {
        const response = await pool.request({ method: 'GET', path });
        await response.body.dump();
        if (response.statusCode >= 200 && response.statusCode < 300) latencies.push(performance.now() - sent);
        else failed++;
      } catch {
        failed++;
      }
    });
    const elapsed = (performance.now() - start) / 1000;
    return checked(what, figuresOf(latencies, elapsed, failed, cpu(elapsed)));
  } finally {
    await pool.close();
  }
};

const url = (port: number) => `http://127.0.0.1:${port}`;

/** The processes under test, each logging to a file of the run's directory; all stopped by `stopAll`. */
const processes = (dir: string) => {
  const started: LoggedProcess[] = [];
  /** The running processes' ids by name, for their CPU. */
  const pids: Record<string, number> = {};
  const start = async (name: string, args: string[], ready: RegExp, env?: NodeJS.ProcessEnv) => {
    const child = await startLogged(args, { log: join(dir, `${name}.log`), ready, ...(env === undefined ? {} : { env }) });
    started.push(child);
    pids[name] = child.child.pid!;
    return child;
  };
  return {
    pids,
    async annals(port: number) {
      await start('annals', ['src/cli/main.ts', 'serve', '--dev', '--port', String(port), '--data', join(dir, 'store')], /listening on/);
      return url(port);
    },
    async orders(port: number, annalsPort: number) {
      await start('orders', ['examples/shop/service.ts', 'orders'], /^ready$/, { ANNALS_URL: url(annalsPort), PORT: String(port) });
      return url(port);
    },
    async bare() {
      const line = join(dir, 'line.ndjson');
      writeFileSync(line, '{}\n');
      return (await start('bare', ['bench/http/serve.ts', 'bare', line, '0'], /^http:\/\//)).line.trim();
    },
    /** `annals gateway` with `count` workers: `/orders` to the orders service, `/noop` to the bare upstream. */
    async gateway(count: number, index: number, upstreams: { orders: string; noop: string }) {
      const port = await freePort();
      const config = join(dir, `gateway-${index}.json`);
      const routes = [
        { prefix: '/orders', upstreams: [upstreams.orders], auth: 'none' },
        { prefix: '/noop', upstreams: [upstreams.noop], auth: 'none' },
      ];
      writeFileSync(config, JSON.stringify({ listen: { host: '127.0.0.1', port }, routes, health: { intervalMs: 500 } }));
      const args = ['src/cli/main.ts', 'gateway', '--config', config, '--workers', String(count)];
      const name = `gateway, ${count} worker${count === 1 ? '' : 's'}`;
      const child = await start(name, args, /listening on/);
      return {
        url: url(port),
        stop: async () => {
          await child.stop();
          delete pids[name];
        },
      };
    },
    stopAll: async () => {
      for (const each of started.reverse()) await each.stop();
    },
  };
};

const latencyDetails = (figures: Figures) => ({
  p50Ms: figures.p50,
  p99Ms: figures.p99,
  requests: figures.requests,
  failed: figures.failed,
  cores: JSON.stringify(figures.cores),
});

/** A throughput row and its p50 and p99 rows, each beside the same figure of the layer underneath. */
const layerRows = (name: string, figures: Figures, limitName: string, limit: Figures): Measurement[] => [
  {
    name: `${name}, ${connections} connections`,
    unit: 'requests/s',
    value: figures.perSecond,
    limit: { name: limitName, value: limit.perSecond },
    details: { ...latencyDetails(figures), client: `autocannon, ${connections} keep-alive connections, 1 thread` },
  },
  { name: `${name}, p50`, unit: 'ms', value: figures.p50, limit: { name: limitName, value: limit.p50 } },
  { name: `${name}, p99`, unit: 'ms', value: figures.p99, limit: { name: limitName, value: limit.p99 } },
];

const measure = async (context: BenchContext, workerCount: number): Promise<Measurement[]> => {
  const seconds = Math.max(0.2, 10 * context.scale);
  const length: Length = context.scale < 0.05 ? { amount: 200 } : { duration: seconds };
  const rounds = context.scale < 1 ? 1 : 3;
  const run = processes(context.tempDir());
  try {
    context.progress('starting annals serve, the orders service, a bare upstream and two gateways');
    // All at once: the orders service connects to Annals on its first request, and the gateways check
    // their upstreams' health every half second.
    const annalsPort = await freePort();
    const ordersPort = await freePort();
    const [annals, noopUrl, orders] = await Promise.all([run.annals(annalsPort), run.bare(), run.orders(ordersPort, annalsPort)]);
    const [single, gateway] = await Promise.all(
      [1, workerCount].map((count, index) => run.gateway(count, index, { orders: url(ordersPort), noop: noopUrl })),
    );

    context.progress(
      `full load for ${'amount' in length ? `${length.amount} requests` : `${seconds} s`} each: appends to the bare upstream, to Annals, orders to the orders service`,
    );
    const bareAppend = await warmedFullLoad('bare appends', noopUrl, append, length, run.pids);
    const annalsAppend = await warmedFullLoad('Annals appends', annals, append, length, run.pids);
    const ordersDirect = await warmedFullLoad('orders direct', orders, placeOrder, length, run.pids);
    const noopDirect = await warmedFullLoad('no-work route direct', noopUrl, noop, length, run.pids);

    context.progress(`the no-work route through a gateway of 1 worker, then of ${workerCount}, at full load`);
    const oneWorker = await warmedFullLoad('gateway, 1 worker', single!.url, noop, length, run.pids);
    await single!.stop();
    const manyWorkers = await warmedFullLoad(`gateway, ${workerCount} workers`, gateway!.url, noop, length, run.pids);
    const through = `gateway (${workerCount} worker${workerCount === 1 ? '' : 's'})`;

    context.progress(`orders through the ${through}, at full load`);
    const ordersThrough = await warmedFullLoad('orders through the gateway', gateway!.url, placeOrder, length, run.pids);

    context.progress(`the no-work route at ${rate} requests/s, direct and through the ${through}, ${rounds} rounds of ${seconds} s`);
    await fixedRate('warm-up direct', noopUrl, noop.path, Math.max(0.1, seconds / 5), {});
    await fixedRate('warm-up through the gateway', gateway!.url, noop.path, Math.max(0.1, seconds / 5), {});
    const direct: Figures[] = [];
    const gated: Figures[] = [];
    // Alternated, so that both see the same machine.
    for (let round = 0; round < rounds; round++) {
      direct.push(await fixedRate('no-work route direct, fixed rate', noopUrl, noop.path, seconds, run.pids));
      gated.push(await fixedRate('no-work route through the gateway, fixed rate', gateway!.url, noop.path, seconds, run.pids));
    }
    const pooled = (runs: Figures[]) => ({
      p50: percentile(
        runs.map((each) => each.p50),
        50,
      ),
      p99: percentile(
        runs.map((each) => each.p99),
        50,
      ),
    });
    const directAtRate = pooled(direct);
    const gatedAtRate = pooled(gated);
    const atRateDetails = {
      client: `open loop (bench/workload.ts paced), undici Pool of ${connections} connections; the median over ${rounds} alternated rounds`,
      directP50Ms: directAtRate.p50,
      directP99Ms: directAtRate.p99,
      rounds: JSON.stringify(
        gated.map((each, index) => ({
          direct: [direct[index]!.p50, direct[index]!.p99],
          gateway: [each.p50, each.p99],
          cores: each.cores,
        })),
      ),
    };

    const measurements: Measurement[] = [
      ...layerRows('Annals direct: append 1 event per request', annalsAppend, 'bare Fastify route, the same requests', bareAppend),
      ...layerRows('orders direct: POST /orders', ordersDirect, 'Annals direct: append 1 event per request', annalsAppend),
      ...layerRows(`${through} + orders: POST /orders`, ordersThrough, 'orders direct: POST /orders', ordersDirect),
      {
        name: `no-work route through the ${through} at ${rate.toLocaleString('en-US')} req/s, p50`,
        unit: 'ms',
        value: gatedAtRate.p50,
        limit: { name: `the no-work route called directly at ${rate.toLocaleString('en-US')} req/s`, value: directAtRate.p50 },
        target: '<= limit + 1 ms',
        details: atRateDetails,
      },
      {
        name: `no-work route through the ${through} at ${rate.toLocaleString('en-US')} req/s, p99`,
        unit: 'ms',
        value: gatedAtRate.p99,
        limit: { name: `the no-work route called directly at ${rate.toLocaleString('en-US')} req/s`, value: directAtRate.p99 },
        target: '<= limit + 3 ms',
      },
      {
        name: 'no-work route through the gateway (1 worker), full load',
        unit: 'requests/s',
        value: oneWorker.perSecond,
        limit: { name: 'the no-work route called directly, full load', value: noopDirect.perSecond },
        details: latencyDetails(oneWorker),
      },
    ];
    if (workerCount > 1)
      measurements.push(
        {
          name: `no-work route through the gateway (${workerCount} workers), full load`,
          unit: 'requests/s',
          value: manyWorkers.perSecond,
          limit: { name: 'the no-work route called directly, full load', value: noopDirect.perSecond },
          details: latencyDetails(manyWorkers),
        },
        {
          name: `gateway throughput, ${workerCount} workers over 1, no-work route`,
          unit: 'x',
          value: manyWorkers.perSecond / oneWorker.perSecond,
          target: '>= 1.6',
          details: { oneWorker: oneWorker.perSecond, [`${workerCount}Workers`]: manyWorkers.perSecond },
        },
      );
    return measurements;
  } finally {
    await run.stopAll();
  }
};

export const suite: BenchSuite = {
  name: 'gateway',
  run: (context) => measure(context, workers),
};
