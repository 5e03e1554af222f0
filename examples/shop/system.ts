/**
 * The whole shop as processes on loopback: an Annals server on the embedded SQLite default (`--dev`), two
 * instances of orders, the order-view service, two consumers each of payments and shipping, and in front
 * of orders and order-view the gateway with two workers, authenticating callers with the tokens this file
 * writes. Used by `main.ts` (`npm run example`) and by the end-to-end tests.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';

const root = new URL('../../', import.meta.url).pathname;
const service = new URL('./service.ts', import.meta.url).pathname;
const cli = 'src/cli/main.ts';

export interface ShopOptions {
  /** Where the store, the read model and the gateway's config and tokens live. */
  dir: string;
  ports: { annals: number; gateway: number; orders: [number, number]; orderView: number };
  /** A Redis for the order view's cache (keys under a prefix of this run's); in process when absent. */
  redisUrl?: string;
  /** The gateway's rate limits: requests per token and per address in each window. */
  rateLimit?: { perToken: number; perAddress: number; windowMs: number };
  /** How often the gateway checks its upstreams. */
  healthIntervalMs?: number;
  /** A read-only replica of the Annals server on this port (`annals serve --replica-of`). */
  replicaPort?: number;
  /** More environment for the Annals server, e.g. a disk budget (`ANNALS_MAX_SIZE`) or an alert webhook. */
  annalsEnv?: NodeJS.ProcessEnv;
}

export interface ShopProcess {
  name: string;
  child: ChildProcess;
  exited: Promise<unknown>;
}

/** A process of the shop: how to start it, and the line it prints once it serves. */
interface Recipe {
  args: string[];
  env: NodeJS.ProcessEnv;
  ready: RegExp;
}

const start = async (name: string, { args, env, ready }: Recipe): Promise<ShopProcess> => {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = once(child, 'exit');
  const said = new Promise<void>((resolve) => {
    for (const stream of [child.stdout!, child.stderr!])
      createInterface({ input: stream }).on('line', (line) => ready.test(line) && resolve());
  });
  if (!(await Promise.race([said.then(() => true), exited.then(() => false)]))) throw new Error(`${name} exited before it was ready`);
  return { name, child, exited };
};

/** A token made as an operator makes one (`annals tokens create`): its file entry, which keeps a digest, and the token. */
const createToken = async (name: string) => {
  const { stdout, stderr } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', cli, 'tokens', 'create', '--name', name, '--role', 'writer'],
    {
      cwd: root,
    },
  );
  // The entry goes to stdout (for the token file), the token to stderr, once.
  const shown = stderr.trim();
  return { entry: JSON.parse(stdout) as unknown, token: shown.slice(shown.lastIndexOf(' ') + 1) };
};

export const startShop = async ({ dir, ports, redisUrl, rateLimit, healthIntervalMs = 1000, replicaPort, annalsEnv = {} }: ShopOptions) => {
  const annalsUrl = `http://127.0.0.1:${ports.annals}`;
  const gatewayUrl = `http://127.0.0.1:${ports.gateway}`;
  const [user, other] = await Promise.all([createToken('shop-user'), createToken('another-user')]);
  writeFileSync(join(dir, 'tokens.json'), JSON.stringify({ tokens: [user.entry, other.entry] }), { mode: 0o600 });
  const ordersUrls = ports.orders.map((port) => `http://127.0.0.1:${port}`);
  writeFileSync(
    join(dir, 'gateway.json'),
    JSON.stringify({
      listen: { port: ports.gateway },
      routes: [
        { prefix: '/orders', upstreams: ordersUrls, auth: 'annals', timeoutMs: 10_000 },
        { prefix: '/view', upstreams: [`http://127.0.0.1:${ports.orderView}`], auth: 'annals', rewritePrefix: '', timeoutMs: 10_000 },
      ],
      auth: { tokens: join(dir, 'tokens.json') },
      rateLimit: rateLimit ?? { perToken: 600, perAddress: 1200, windowMs: 60_000 },
      health: { intervalMs: healthIntervalMs, timeoutMs: Math.min(1000, healthIntervalMs) },
    }),
  );

  const serviceRecipe = (name: string, env: NodeJS.ProcessEnv): Recipe => ({
    args: [service, name.replace(/-[ab]$/, '')],
    env: { ANNALS_URL: annalsUrl, ...env },
    ready: /^ready$/,
  });
  const recipes = new Map<string, Recipe>([
    [
      'annals',
      {
        args: [cli, 'serve', '--dev', '--port', String(ports.annals), '--data', join(dir, 'store')],
        env: annalsEnv,
        ready: /listening on/,
      },
    ],
    ...(replicaPort === undefined
      ? []
      : [
          [
            'replica',
            {
              args: [cli, 'serve', '--dev', '--port', String(replicaPort), '--data', join(dir, 'replica'), '--replica-of', annalsUrl],
              // The primary runs with --dev: any token will do.
              env: { ANNALS_TOKEN: 'dev' },
              ready: /listening on/,
            },
          ] satisfies [string, Recipe],
        ]),
    ['orders-a', serviceRecipe('orders-a', { PORT: String(ports.orders[0]) })],
    ['orders-b', serviceRecipe('orders-b', { PORT: String(ports.orders[1]) })],
    [
      'order-view',
      serviceRecipe('order-view', {
        PORT: String(ports.orderView),
        VIEW_DB: join(dir, 'order-view.db'),
        ...(redisUrl === undefined ? {} : { REDIS_URL: redisUrl, REDIS_PREFIX: `shop:${basename(dir)}:` }),
      }),
    ],
    ...['payments-a', 'payments-b', 'shipping-a', 'shipping-b'].map((name): [string, Recipe] => [
      name,
      serviceRecipe(name, { CONSUMER: name }),
    ]),
    ['gateway', { args: [cli, 'gateway', '--config', join(dir, 'gateway.json'), '--workers', '2'], env: {}, ready: /listening on/ }],
  ]);

  const processes = new Map<string, ShopProcess>();
  /**
   * Starts `name` (again, after it was stopped or killed), on the same port and settings, with `env` added
   * to its environment from now on (an operator's change, such as a larger disk budget).
   */
  const restart = async (name: string, env: NodeJS.ProcessEnv = {}) => {
    const recipe = recipes.get(name);
    if (recipe === undefined) throw new Error(`no shop process ${name}; there are ${[...recipes.keys()].join(', ')}`);
    recipe.env = { ...recipe.env, ...env };
    processes.set(name, await start(name, recipe));
    return processes.get(name)!;
  };
  const stop = async () => {
    for (const each of [...processes.values()].reverse()) {
      if (each.child.exitCode === null && each.child.signalCode === null) each.child.kill('SIGTERM');
      await each.exited;
    }
  };
  try {
    for (const name of recipes.keys()) await restart(name);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    annalsUrl,
    gatewayUrl,
    replicaUrl: replicaPort === undefined ? undefined : `http://127.0.0.1:${replicaPort}`,
    ordersUrls,
    /** Bearer tokens the gateway accepts: the shop's user, and another caller with limits of its own. */
    tokens: { user: user.token, other: other.token },
    process: (name: string) => processes.get(name)!,
    restart,
    stop,
  };
};

export type Shop = Awaited<ReturnType<typeof startShop>>;
