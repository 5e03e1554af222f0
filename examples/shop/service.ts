/**
 * One shop service as its own process: `node --import tsx examples/shop/service.ts <orders | payments |
 * shipping | order-view>`, configured by the environment: `ANNALS_URL` (the Annals server), `ANNALS_TOKEN`,
 * `PORT` (orders, order-view), `CONSUMER` (payments, shipping), `VIEW_DB`, `REDIS_URL` and `REDIS_PREFIX` (order-view).
 * It prints `ready` once serving, and stops on SIGTERM or SIGINT.
 */
import { createRedisCacheTier } from 'annals';
import { connect } from 'annals/client';
import { orderViewService } from './order-view/service.js';
import { ordersService } from './orders/service.js';
import { startPayments } from './payments/payments.js';
import { startShipping } from './shipping/shipping.js';

const name = process.argv[2];
const env = (key: string, fallback?: string): string => {
  const value = process.env[key] ?? fallback;
  if (value === undefined) throw new Error(`${name}: set ${key}`);
  return value;
};
const store = connect(env('ANNALS_URL', 'http://127.0.0.1:2113'), {
  ...(process.env.ANNALS_TOKEN ? { token: process.env.ANNALS_TOKEN } : {}),
});
const port = () => Number(env('PORT'));
const stops: (() => Promise<void>)[] = [];

if (name === 'orders') {
  const app = ordersService(store);
  await app.listen({ host: '127.0.0.1', port: port() });
  stops.push(() => app.close());
} else if (name === 'order-view') {
  const shared = process.env.REDIS_URL
    ? await createRedisCacheTier({ url: process.env.REDIS_URL, prefix: env('REDIS_PREFIX', 'shop:order-view:') })
    : undefined;
  const { app } = await orderViewService(store, { path: env('VIEW_DB'), ...(shared === undefined ? {} : { shared }) });
  await app.listen({ host: '127.0.0.1', port: port() });
  stops.push(
    () => app.close(),
    async () => shared?.close(),
  );
} else if (name === 'payments' || name === 'shipping') {
  const consumer = await (name === 'payments' ? startPayments : startShipping)(store, env('CONSUMER', `${name}-${process.pid}`));
  stops.push(() => consumer.close());
} else {
  throw new Error(`unknown service ${String(name)}; allowed: orders, payments, shipping, order-view`);
}
console.log('ready');

const stop = async () => {
  for (const each of stops) await each();
  await store.close();
  process.exit(0);
};
process.once('SIGTERM', () => void stop());
process.once('SIGINT', () => void stop());
