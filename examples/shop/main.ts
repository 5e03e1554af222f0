/**
 * `npm run example`: the shop on loopback, every service its own process, behind the gateway, until Ctrl-C.
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
const redisUrl = (await redisAnswers()) ? 'redis://127.0.0.1:6379' : undefined;
const shop = await startShop({
  dir,
  ports: { annals: 2113, gateway: 8080, orders: [3001, 3002], orderView: 3004 },
  ...(redisUrl === undefined ? {} : { redisUrl }),
});

console.log(`The shop is running: the gateway (2 workers) at ${shop.gatewayUrl} in front of orders (2 instances) and
the order view; payments and shipping (2 consumers each) behind the Annals server at ${shop.annalsUrl}.
Data in ${dir}; order view cache: ${redisUrl ?? 'in process'}.

  export TOKEN=${shop.tokens.user}

Place an order (the Idempotency-Key names it: send it again, and you get the same order back):
  curl -si -X POST ${shop.gatewayUrl}/orders -H "authorization: Bearer $TOKEN" \\
    -H 'content-type: application/json' -H 'idempotency-key: my-first-order' \\
    -d '{"customer":"ada","lines":[{"sku":"tea-1","quantity":2,"price":450}]}'
Follow it in the view (orderId from the answer; payments and shipping move it along):
  curl -s ${shop.gatewayUrl}/view/orders/<orderId> -H "authorization: Bearer $TOKEN"
Watch the events as they are written:
  npm run annals -- tail '$all' --category order --url ${shop.annalsUrl}

Ctrl-C stops everything.`);

const stop = async () => {
  await shop.stop();
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
};
process.once('SIGINT', () => void stop());
process.once('SIGTERM', () => void stop());
