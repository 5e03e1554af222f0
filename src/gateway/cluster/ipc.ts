/**
 * Requests between the gateway's cluster primary and its workers over node:cluster's IPC channel, in both
 * directions: each side answers the kinds it has handlers for and asks the other. Messages carry a tag of
 * their own, so they pass beside anything else on the channel.
 */
const tag = 'annals-gateway';

interface Message {
  tag: typeof tag;
  id: number;
  /** Set on a request. */
  kind?: string;
  payload?: unknown;
  /** Set on an answer. */
  answer?: true;
  result?: unknown;
  error?: string;
}

/** The other end of the channel: `process` in a worker, a `Worker` in the primary. */
export interface Endpoint {
  send(message: Message): unknown;
  on(event: 'message', listener: (message: unknown) => void): unknown;
  isConnected?(): boolean;
}

export type Handlers = Record<string, (payload: never) => unknown>;

const isOurs = (message: unknown): message is Message =>
  typeof message === 'object' && message !== null && (message as { tag?: unknown }).tag === tag;

/**
 * Answers `endpoint`'s requests with `handlers` and returns how to ask it; an ask fails after its time
 * bound rather than waiting on a process that is gone.
 */
export const connectPeer = (endpoint: Endpoint, handlers: Handlers = {}, defaultTimeoutMs = 2000) => {
  let next = 0;
  const waiting = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void; timer: NodeJS.Timeout }>();
  const send = (message: Message) => {
    if (endpoint.isConnected?.() !== false) endpoint.send(message);
  };
  endpoint.on('message', (message) => {
    if (!isOurs(message)) return;
    if (message.answer === true) {
      const waiter = waiting.get(message.id);
      if (waiter === undefined) return;
      waiting.delete(message.id);
      clearTimeout(waiter.timer);
      if (message.error === undefined) waiter.resolve(message.result);
      else waiter.reject(new Error(message.error));
      return;
    }
    const reply = (answer: Pick<Message, 'result' | 'error'>) => send({ tag, id: message.id, answer: true, ...answer });
    const handler = handlers[message.kind ?? ''];
    if (handler === undefined) return reply({ error: `no handler for ${message.kind}` });
    Promise.resolve()
      .then(() => handler(message.payload as never))
      .then(
        (result) => reply({ result }),
        (error: unknown) => reply({ error: error instanceof Error ? error.message : String(error) }),
      );
  });
  return <T>(kind: string, payload: unknown = null, timeoutMs = defaultTimeoutMs): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const id = ++next;
      const timer = setTimeout(() => {
        waiting.delete(id);
        reject(new Error(`no answer to ${kind} within ${timeoutMs} ms`));
      }, timeoutMs);
      waiting.set(id, { resolve: resolve as (value: unknown) => void, reject, timer });
      send({ tag, id, kind, payload });
    });
};

export type Asker = ReturnType<typeof connectPeer>;
