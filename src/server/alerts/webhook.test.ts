/**
 * `--alert-webhook`: the server POSTs a condition when it starts and when it ends. A read-only server
 * reports it at once; a consumer group that parks an event reports it, and the report resolves once the
 * event is replayed and acknowledged.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Fastify from 'fastify';
import { openEventStore } from '../../engines/open.js';
import { until } from '../../testing/until.js';
import { serveForTest } from '../testing/serve.js';
import type { AlertMessage } from './webhook.js';

const receiver = async () => {
  const received: AlertMessage[] = [];
  const app = Fastify();
  app.post<{ Body: { alerts: AlertMessage[] } }>('/hook', async (request) => {
    received.push(...request.body.alerts);
    return {};
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  return { received, url: `http://127.0.0.1:${(app.server.address() as { port: number }).port}/hook`, close: () => app.close() };
};

describe('alert webhook', () => {
  it('posts read-only and parked events as they start, and parked events again when they end', async () => {
    const hook = await receiver();
    const store = await openEventStore({ engine: 'memory' });
    const { client } = await serveForTest(store, { readOnly: true, alertWebhook: { url: hook.url, intervalMs: 50 } });
    try {
      await until(() => hook.received.some((alert) => alert.alert === 'AnnalsReadOnly'), 'the read-only alert');
      const readOnly = hook.received.find((alert) => alert.alert === 'AnnalsReadOnly')!;
      assert.deepEqual([readOnly.status, readOnly.labels], ['firing', { reason: 'flag' }]);

      await store.append('order-1', [{ type: 'Placed', data: {} }]);
      await store.groups.create('billing', { source: { category: 'order' }, from: 'start' });
      const [delivery] = await store.groups.pull('billing', { consumer: 'c1', max: 1 });
      await store.groups.nack('billing', [delivery!.id], { action: 'park', reason: 'test' });
      await until(() => hook.received.some((alert) => alert.alert === 'AnnalsParkedEvents'), 'the parked-events alert');
      assert.deepEqual(hook.received.find((alert) => alert.alert === 'AnnalsParkedEvents')!.labels, { group: 'billing' });

      await store.groups.replayParked('billing');
      const [again] = await store.groups.pull('billing', { consumer: 'c1', max: 1 });
      await store.groups.ack('billing', [again!.id]);
      await until(
        () => hook.received.some((alert) => alert.alert === 'AnnalsParkedEvents' && alert.status === 'resolved'),
        'the parked-events alert resolved',
      );
      assert.equal(hook.received.filter((alert) => alert.alert === 'AnnalsReadOnly').length, 1, 'a condition that lasts is posted once');
    } finally {
      await client.close();
      await hook.close();
    }
  });
});
