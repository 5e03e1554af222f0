/** The shipping service: for each paid order, ships it and tells the order its tracking id. */
import type { EventStore } from 'annals';
import { reactToOrders } from '../react.js';

export const startShipping = (store: EventStore, consumer: string, signal?: AbortSignal) =>
  reactToOrders(
    store,
    {
      group: 'shipping',
      eventType: 'OrderPaid',
      command: (_, eventId) => ({ name: 'shipment', command: { kind: 'ship', trackingId: `track-${eventId.slice(0, 8)}` } }),
    },
    consumer,
    signal,
  );
