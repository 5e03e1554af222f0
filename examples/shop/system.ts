/**
 * The whole shop as processes on loopback: an Annals server on the embedded SQLite default (`--dev`), the
 * orders and order-view services, and two consumers each of payments and shipping. Used by `main.ts`
 * (`npm run example`) and by the end-to-end tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { basename, join } from 'node:path';
import { createInterface } from 'node:readline';

const root = new URL('../../', import.meta.url).pathname;
const service = new URL('./service.ts', import.meta.url).pathname;

export interface ShopOptions {
  /** Where the store and the read model live. */
  dir: string;
  ports: { annals: number; orders: number; orderView: number };
  /** A Redis for the order view's cache, shared by its instances (keys under a prefix of this run's); in process when absent. */
  redisUrl?: string;
}

export interface ShopProcess {
  name: string;
  child: ChildProcess;
  exited: Promise<unknown>;
}

/** Starts a process and resolves once it prints `ready` (or, for the server, that it listens). */
const start = async (name: string, args: string[], env: NodeJS.ProcessEnv, readyLine: RegExp): Promise<ShopProcess> => {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = once(child, 'exit');
  const lines = (stream: NodeJS.ReadableStream) => createInterface({ input: stream });
  const ready = new Promise<void>((resolve) => {
    for (const output of [lines(child.stdout!), lines(child.stderr!)]) output.on('line', (line) => readyLine.test(line) && resolve());
  });
  const started = await Promise.race([ready.then(() => true), exited.then(() => false)]);
  if (!started) throw new Error(`${name} exited before it was ready`);
  return { name, child, exited };
};

export const startShop = async ({ dir, ports, redisUrl }: ShopOptions) => {
  const processes: ShopProcess[] = [];
  const annalsUrl = `http://127.0.0.1:${ports.annals}`;
  const run = async (name: string, env: NodeJS.ProcessEnv) => {
    const started = await start(name, [service, name.replace(/-[ab]$/, '')], { ANNALS_URL: annalsUrl, ...env }, /^ready$/);
    processes.push(started);
    return started;
  };
  const stop = async () => {
    for (const each of processes.reverse()) {
      if (each.child.exitCode === null && each.child.signalCode === null) each.child.kill('SIGTERM');
      await each.exited;
    }
  };
  try {
    processes.push(
      await start(
        'annals',
        ['src/cli/main.ts', 'serve', '--dev', '--port', String(ports.annals), '--data', join(dir, 'store')],
        {},
        /listening on/,
      ),
    );
    await run('orders', { PORT: String(ports.orders) });
    await run('order-view', {
      PORT: String(ports.orderView),
      VIEW_DB: join(dir, 'order-view.db'),
      ...(redisUrl === undefined ? {} : { REDIS_URL: redisUrl, REDIS_PREFIX: `shop:${basename(dir)}:` }),
    });
    for (const name of ['payments-a', 'payments-b', 'shipping-a', 'shipping-b']) await run(name, { CONSUMER: name });
  } catch (error) {
    await stop();
    throw error;
  }
  return { processes, annalsUrl, stop };
};
