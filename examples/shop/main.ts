/**
 * `npm run example`: the shop on loopback, every service its own process, until Ctrl-C.
 * Data goes to a temporary folder, removed at the end; the order view uses the local Redis when one
 * answers, its in-process cache otherwise.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startShop } from './system.js';

const redisAnswers = () =>
  new Promise<boolean>((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port: 6379 }, () => (socket.end(), resolve(true)));
    socket.on('error', () => resolve(false));
  });

const dir = mkdtempSync(join(tmpdir(), 'annals-shop-'));
const ports = { annals: 2113, orders: 3001, orderView: 3004 };
const redisUrl = (await redisAnswers()) ? 'redis://127.0.0.1:6379' : undefined;
const shop = await startShop({ dir, ports, ...(redisUrl === undefined ? {} : { redisUrl }) });

console.log(`The shop is running (data in ${dir}; order view cache: ${redisUrl ?? 'in process'}).

Place an order:
  curl -si -X POST http://127.0.0.1:${ports.orders}/orders -H 'content-type: application/json' \\
    -H 'idempotency-key: my-first-order' \\
    -d '{"customer":"ada","lines":[{"sku":"tea-1","quantity":2,"price":450}]}'
Follow it (orderId from the answer; payments and shipping move it along):
  curl -s http://127.0.0.1:${ports.orderView}/orders/<orderId>
The Annals server: http://127.0.0.1:${ports.annals} (annals tail --url http://127.0.0.1:${ports.annals})

Ctrl-C stops everything.`);

const stop = async () => {
  await shop.stop();
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
};
process.once('SIGINT', () => void stop());
process.once('SIGTERM', () => void stop());
