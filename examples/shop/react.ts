/**
 * How a shop service reacts to order events: a consumer group (`pinned`, so one order's events reach one
 * consumer in order) over one type of event, answering each with a command to the order. The command's id
 * comes from the event's, so a redelivered event acts once; a refusal (the order moved on, say cancelled)
 * means there is nothing to do.
 */
import { CommandRejectedError, handleCommand, type EventStore } from 'annals';
import { causedBy, order, orderStream, type OrderCommand, type OrderEvent } from './order.js';

/** Reactions load orders that have a history: past two events, from a snapshot (placing a new one has none to read). */
const orderFromSnapshots = { ...order, snapshot: { every: 2, schemaVersion: 1 } };

type DataOf<T extends OrderEvent['type']> = Extract<OrderEvent, { type: T }>['data'];

export interface Reaction<T extends OrderEvent['type']> {
  group: string;
  eventType: T;
  /** The command to send for the event, and a name for it that is unique per event. */
  command: (data: DataOf<T>, eventId: string) => { name: string; command: OrderCommand };
}

export const reactToOrders = async <T extends OrderEvent['type']>(
  store: EventStore,
  { group, eventType, command }: Reaction<T>,
  consumer: string,
  signal?: AbortSignal,
) => {
  await store.groups.create(group, { source: { filter: { category: 'order', types: [eventType] } }, strategy: 'pinned', from: 'start' });
  return store.groups.consume(
    group,
    async (event) => {
      const data = event.data as unknown as DataOf<T>;
      const reaction = command(data, event.id);
      try {
        await handleCommand(store, orderStream(data.orderId), reaction.command, orderFromSnapshots, {
          commandId: `${reaction.name}-${event.id}`,
          metadata: causedBy(event),
        });
      } catch (error) {
        if (!(error instanceof CommandRejectedError)) throw error;
      }
    },
    { consumer, ...(signal === undefined ? {} : { signal }) },
  );
};
