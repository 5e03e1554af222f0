/** The payments service: for each placed order, charges the total and tells the order it is paid. */
import type { EventStore } from 'annals';
import { reactToOrders } from '../react.js';

export const startPayments = (store: EventStore, consumer: string, signal?: AbortSignal) =>
  reactToOrders(
    store,
    {
      group: 'payments',
      eventType: 'OrderPlaced',
      command: ({ total }, eventId) => ({ name: 'payment', command: { kind: 'pay', paymentId: `pay-${eventId}`, amount: total } }),
    },
    consumer,
    signal,
  );
