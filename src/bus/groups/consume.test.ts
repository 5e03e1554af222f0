/** The consumer helper's own edge cases, beyond the conformance suite. */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createEventStore } from '../../store/create-store.js';
import { createMemoryEngine } from '../../engines/memory/engine.js';
import { ParkError } from './consume.js';
import type { Consumer } from './model.js';

it('sends the settle of a handler that finishes while the settles before it are being sent', async () => {
  const store = createEventStore(createMemoryEngine());
  let consumer: Consumer | undefined;
  try {
    await store.groups.create('billing', { source: { category: 'order' }, strategy: 'pinned' });
    await store.append('order-1', [
      { type: 'OrderPlaced', data: { total: 30 } },
      { type: 'OrderPaid', data: {} },
    ]);
    await store.append('order-2', [{ type: 'OrderPlaced', data: { total: -1 } }]);
    const handled: string[] = [];
    consumer = store.groups.consume(
      'billing',
      async (event) => {
        if ((event.data as { total?: number }).total === -1) throw new ParkError('negative total');
        handled.push(event.type);
      },
      { consumer: 'c1' },
    );
    const deadline = Date.now() + 2_000;
    while ((await store.groups.info('billing')).lag.events > 0) {
      assert.ok(Date.now() < deadline, `every event settled within 2 s (the ack timeout is 30 s); handled ${handled.join(', ')}`);
      await sleep(20);
    }
    await consumer.close();
    assert.deepEqual(handled, ['OrderPlaced', 'OrderPaid']);
    assert.equal((await store.groups.info('billing')).inFlight, 0);
  } finally {
    await consumer?.close();
    await store.close();
  }
});
