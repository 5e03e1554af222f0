/**
 * An order as a decider: placed by a customer, paid by the payments service, shipped by the shipping
 * service, or cancelled before it ships. Amounts are whole cents.
 */
import { CommandRejectedError, type Decider } from 'annals';

// A type, not an interface: event data must be JSON, and only type aliases are checked as such.
export type Line = {
  sku: string;
  quantity: number;
  /** Price of one, in cents. */
  price: number;
};

export type OrderEvent =
  | { type: 'OrderPlaced'; data: { orderId: string; customer: string; lines: Line[]; total: number } }
  | { type: 'OrderPaid'; data: { orderId: string; paymentId: string; amount: number } }
  | { type: 'OrderShipped'; data: { orderId: string; trackingId: string } }
  | { type: 'OrderCancelled'; data: { orderId: string; reason: string } };

export type OrderCommand =
  | { kind: 'place'; orderId: string; customer: string; lines: Line[] }
  | { kind: 'pay'; paymentId: string; amount: number }
  | { kind: 'ship'; trackingId: string }
  | { kind: 'cancel'; reason: string };

export type Order =
  { status: 'none' } | { status: 'placed' | 'paid' | 'shipped' | 'cancelled'; orderId: string; customer: string; total: number };

/** The metadata of a command caused by `event`: its correlation id carried on, the event as the cause. */
export const causedBy = (event: { id: string; metadata: Record<string, unknown> }): Record<string, string> => ({
  ...(typeof event.metadata.correlationId === 'string' ? { correlationId: event.metadata.correlationId } : {}),
  causationId: event.id,
});

/** One stream per order, in the `order` category. */
export const orderStream = (orderId: string) => `order-${orderId}`;

const checkLines = (lines: unknown): Line[] => {
  if (!Array.isArray(lines) || lines.length === 0 || lines.length > 100) {
    throw new CommandRejectedError('an order has 1 to 100 lines');
  }
  return lines.map((line: Partial<Line>, index) => {
    const { sku, quantity, price } = line;
    if (typeof sku !== 'string' || !/^[A-Za-z0-9-]{1,40}$/.test(sku))
      throw new CommandRejectedError(`lines[${index}].sku must be 1 to 40 letters, digits or '-'`);
    if (!Number.isSafeInteger(quantity) || quantity! < 1)
      throw new CommandRejectedError(`lines[${index}].quantity must be a positive whole number`);
    if (!Number.isSafeInteger(price) || price! < 0)
      throw new CommandRejectedError(`lines[${index}].price must be a whole number of cents, 0 or more`);
    return { sku, quantity: quantity!, price: price! };
  });
};

export const order: Decider<Order, OrderCommand, OrderEvent> = {
  initialState: () => ({ status: 'none' }),
  evolve: (state, event) => {
    switch (event.type) {
      case 'OrderPlaced':
        return { status: 'placed', orderId: event.data.orderId, customer: event.data.customer, total: event.data.total };
      case 'OrderPaid':
        return state.status === 'none' ? state : { ...state, status: 'paid' };
      case 'OrderShipped':
        return state.status === 'none' ? state : { ...state, status: 'shipped' };
      case 'OrderCancelled':
        return state.status === 'none' ? state : { ...state, status: 'cancelled' };
    }
  },
  decide: (command, state) => {
    if (command.kind === 'place') {
      if (state.status !== 'none') throw new CommandRejectedError(`order ${state.orderId} exists already`);
      if (typeof command.customer !== 'string' || command.customer.trim() === '')
        throw new CommandRejectedError('the customer must be named');
      const lines = checkLines(command.lines);
      const total = lines.reduce((sum, line) => sum + line.quantity * line.price, 0);
      return [{ type: 'OrderPlaced', data: { orderId: command.orderId, customer: command.customer.trim(), lines, total } }];
    }
    if (state.status === 'none') throw new CommandRejectedError('no such order');
    const { orderId } = state;
    switch (command.kind) {
      case 'pay':
        if (state.status !== 'placed') throw new CommandRejectedError(`order ${orderId} is ${state.status}, not awaiting payment`);
        if (command.amount !== state.total) throw new CommandRejectedError(`order ${orderId} costs ${state.total}, not ${command.amount}`);
        return [{ type: 'OrderPaid', data: { orderId, paymentId: command.paymentId, amount: command.amount } }];
      case 'ship':
        if (state.status !== 'paid') throw new CommandRejectedError(`order ${orderId} is ${state.status}, not ready to ship`);
        return [{ type: 'OrderShipped', data: { orderId, trackingId: command.trackingId } }];
      case 'cancel':
        if (state.status === 'shipped' || state.status === 'cancelled')
          throw new CommandRejectedError(`order ${orderId} is ${state.status}`);
        return [{ type: 'OrderCancelled', data: { orderId, reason: command.reason } }];
    }
  },
};
