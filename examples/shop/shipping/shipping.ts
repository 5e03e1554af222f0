/**
 * The shipping service: a consumer group over paid orders (`pinned`), shipping each and telling the order
 * its tracking id. A redelivered event ships once: the command's id comes from the event's.
 */
import { CommandRejectedError, handleCommand, type EventStore } from 'annals';
import { causedBy, order, orderStream, type OrderEvent } from '../order.js';

export const shippingGroup = 'shipping';

export const startShipping = async (store: EventStore, consumer: string, signal?: AbortSignal) => {
  await store.groups.create(shippingGroup, {
    source: { filter: { category: 'order', types: ['OrderPaid'] } },
    strategy: 'pinned',
    from: 'start',
  });
  return store.groups.consume(
    shippingGroup,
    async (event) => {
      const { orderId } = (event as unknown as Extract<OrderEvent, { type: 'OrderPaid' }>).data;
      try {
        await handleCommand(store, orderStream(orderId), { kind: 'ship', trackingId: `track-${event.id.slice(0, 8)}` }, order, {
          commandId: `shipment-${event.id}`,
          metadata: causedBy(event),
        });
      } catch (error) {
        if (!(error instanceof CommandRejectedError)) throw error;
      }
    },
    { consumer, ...(signal === undefined ? {} : { signal }) },
  );
};
