/**
 * The gateway (DESIGN.md section 10, issue 13): requests per second and latency percentiles through
 * gateway + orders + Annals, beside the same requests sent to `orders` directly and to Annals directly, so
 * that each layer's cost shows; the latency the gateway adds on a route that does no work, at a fixed
 * 2,000 requests a second; and the throughput of 2 gateway workers over 1 on that route.
 *
 * Every part is a real process on loopback: `annals serve --dev` (SQLite, durability fsync, no
 * authentication), the shop's orders service, a bare Fastify upstream (`bench/http/serve.ts`, `GET /noop`)
 * and `annals gateway` at its default log level (a JSON line per request, to a file). autocannon drives
 * them from this process at full load (32 keep-alive connections, one thread); the fixed-rate runs use the
 * open loop of `workload.ts`, because autocannon's `overallRate` sends each connection's share of a second
 * in a burst at the start of that second, and its histograms count whole milliseconds. Latencies are taken
 * from each response, to a fraction of a millisecond, for 2xx answers only.
 *
 * On a 2-core machine the load generator and every process under test share the two cores: a figure at
 * full load is what the whole chain does on them, not what one layer does with a core of its own.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { Pool } from 'undici';
import { freePort } from '../../src/cli/testing/processes.js';
import { startLogged, type LoggedProcess } from '../http/processes.js';
import { percentile, type BenchContext, type BenchSuite, type Measurement } from '../harness.js';
import { eventData, paced } from '../workload.js';

const connections = 32;
/** The fixed rate of the added-latency runs, requests per second. */
const rate = 2000;
/** Gateway processes (`annals gateway --workers`) for the routes through the gateway. */
const workers = 1;

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
  /** CPU the load generator (this process) used, in cores. */
  loadCores: number;
}

const figuresOf = (latencies: number[], seconds: number, failed: number, cpu: NodeJS.CpuUsage): Figures => {
  const used = process.cpuUsage(cpu);
  return {
    perSecond: latencies.length / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    requests: latencies.length,
    failed,
    loadCores: (used.user + used.system) / 1e6 / seconds,
  };
};

/** Fails the run when more than 1% of the requests failed: the figures would not be of the work asked for. */
const checked = (what: string, figures: Figures, detail = '') => {
  if (figures.failed > (figures.requests + figures.failed) / 100)
    throw new Error(`${what}: ${figures.failed} of ${figures.requests + figures.failed} requests failed ${detail}`);
  return figures;
};

/** autocannon at full load for `seconds`, with every response's latency. */
const fullLoad = (what: string, url: string, request: Request, seconds: number) =>
  new Promise<Figures>((resolve, reject) => {
    const latencies: number[] = [];
    const cpu = process.cpuUsage();
    const instance = autocannon(
      { url: url + request.path, connections, duration: seconds, idReplacement: true, ...request },
      (error: unknown, result: autocannon.Result) => {
        if (error) return reject(error instanceof Error ? error : new Error(String(error)));
        const failed = result.errors + result.timeouts + result.non2xx;
        try {
          resolve(checked(what, figuresOf(latencies, result.duration, failed, cpu), JSON.stringify(result.statusCodeStats)));
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
const warmedFullLoad = async (what: string, url: string, request: Request, seconds: number) => {
  await fullLoad(what, url, request, Math.max(0.2, seconds / 5));
  return fullLoad(what, url, request, seconds);
};

/** `GET path` at a fixed `rate` for `seconds`, an open loop (a slow answer delays no later request). */
const fixedRate = async (what: string, url: string, path: string, seconds: number): Promise<Figures> => {
  const pool = new Pool(url, { connections, keepAliveTimeout: 30_000 });
  const latencies: number[] = [];
  let failed = 0;
  const cpu = process.cpuUsage();
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
    return checked(what, figuresOf(latencies, (performance.now() - start) / 1000, failed, cpu));
  } finally {
    await pool.close();
  }
};

/** The processes under test, each logging to a file of the run's directory; all stopped by `stopAll`. */
const processes = (dir: string) => {
  const started: LoggedProcess[] = [];
  const start = async (name: string, args: string[], ready: RegExp, env?: NodeJS.ProcessEnv) => {
    const child = await startLogged(args, { log: join(dir, `${name}.log`), ready, ...(env === undefined ? {} : { env }) });
    started.push(child);
    return child;
  };
  const url = (port: number) => `http://127.0.0.1:${port}`;
  return {
    async annals() {
      const port = await freePort();
      await start('annals', ['src/cli/main.ts', 'serve', '--dev', '--port', String(port), '--data', join(dir, 'store')], /listening on/);
      return url(port);
    },
    async orders(annals: string) {
      const port = await freePort();
      await start('orders', ['examples/shop/service.ts', 'orders'], /^ready$/, { ANNALS_URL: annals, PORT: String(port) });
      return url(port);
    },
    async bare() {
      const line = join(dir, 'line.ndjson');
      writeFileSync(line, '{}\n');
      return (await start('bare', ['bench/http/serve.ts', 'bare', line, '0'], /^http:\/\//)).line.trim();
    },
    /** `annals gateway` with `count` workers: `/orders` to the orders service, `/noop` to the bare upstream. */
    async gateway(count: number, upstreams: { orders: string; noop: string }) {
      const port = await freePort();
      const config = join(dir, `gateway-${count}.json`);
      const routes = [
        { prefix: '/orders', upstreams: [upstreams.orders], auth: 'none' },
        { prefix: '/noop', upstreams: [upstreams.noop], auth: 'none' },
      ];
      writeFileSync(config, JSON.stringify({ listen: { host: '127.0.0.1', port }, routes }));
      const args = ['src/cli/main.ts', 'gateway', '--config', config, ...(count === 1 ? [] : ['--workers', String(count)])];
      const child = await start(`gateway-${count}`, args, /listening on/);
      return { url: url(port), stop: () => child.stop() };
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
  loadGeneratorCores: Number(figures.loadCores.toFixed(2)),
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
  const seconds = Math.max(0.5, 10 * context.scale);
  const rounds = context.scale < 1 ? 1 : 3;
  const run = processes(context.tempDir());
  try {
    context.progress('starting annals serve, the orders service and a bare upstream');
    const annals = await run.annals();
    const orders = await run.orders(annals);
    const noopUrl = await run.bare();

    context.progress(`full load for ${seconds} s each: appends to the bare upstream, to Annals, orders to the orders service`);
    const bareAppend = await warmedFullLoad('bare appends', noopUrl, append, seconds);
    const annalsAppend = await warmedFullLoad('Annals appends', annals, append, seconds);
    const ordersDirect = await warmedFullLoad('orders direct', orders, placeOrder, seconds);
    const noopDirect = await warmedFullLoad('no-work route direct', noopUrl, noop, seconds);

    context.progress('the no-work route through a gateway of 1 worker, at full load');
    let gateway = await run.gateway(1, { orders, noop: noopUrl });
    const oneWorker = await warmedFullLoad('gateway, 1 worker', gateway.url, noop, seconds);
    let manyWorkers = oneWorker;
    if (workerCount > 1) {
      await gateway.stop();
      context.progress(`the same through a gateway of ${workerCount} workers`);
      gateway = await run.gateway(workerCount, { orders, noop: noopUrl });
      manyWorkers = await warmedFullLoad(`gateway, ${workerCount} workers`, gateway.url, noop, seconds);
    }
    const through = `gateway (${workerCount} worker${workerCount === 1 ? '' : 's'})`;

    context.progress(`orders through the ${through}, at full load`);
    const ordersThrough = await warmedFullLoad('orders through the gateway', gateway.url, placeOrder, seconds);

    context.progress(`the no-work route at ${rate} requests/s, direct and through the ${through}, ${rounds} rounds of ${seconds} s`);
    await fixedRate('warm-up direct', noopUrl, noop.path, Math.max(0.2, seconds / 5));
    await fixedRate('warm-up through the gateway', gateway.url, noop.path, Math.max(0.2, seconds / 5));
    const direct: Figures[] = [];
    const gated: Figures[] = [];
    // Alternated, so that both see the same machine.
    for (let round = 0; round < rounds; round++) {
      direct.push(await fixedRate('no-work route direct, fixed rate', noopUrl, noop.path, seconds));
      gated.push(await fixedRate('no-work route through the gateway, fixed rate', gateway.url, noop.path, seconds));
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
        gated.map((each, index) => ({ direct: [direct[index]!.p50, direct[index]!.p99], gateway: [each.p50, each.p99] })),
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
