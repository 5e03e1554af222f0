/**
 * The payments service: a consumer group over the orders' category (`pinned`, so one order's events go to
 * one consumer in order). For each placed order it charges the total and tells the order so, through a
 * command of its own. The command's id comes from the event's, so a redelivered event pays once.
 */
import { CommandRejectedError, handleCommand, type EventStore } from 'annals';
import { causedBy, order, orderStream, type OrderEvent } from '../order.js';

export const paymentsGroup = 'payments';

export const startPayments = async (store: EventStore, consumer: string, signal?: AbortSignal) => {
  await store.groups.create(paymentsGroup, {
    source: { filter: { category: 'order', types: ['OrderPlaced'] } },
    strategy: 'pinned',
    from: 'start',
  });
  return store.groups.consume(
    paymentsGroup,
    async (event) => {
      const { orderId, total } = (event as unknown as Extract<OrderEvent, { type: 'OrderPlaced' }>).data;
      try {
        await handleCommand(store, orderStream(orderId), { kind: 'pay', paymentId: `pay-${event.id}`, amount: total }, order, {
          commandId: `payment-${event.id}`,
          metadata: causedBy(event),
        });
      } catch (error) {
        // An order cancelled before its payment needs none: the event is done with.
        if (!(error instanceof CommandRejectedError)) throw error;
      }
    },
    { consumer, ...(signal === undefined ? {} : { signal }) },
  );
};
