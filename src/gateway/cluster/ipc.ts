/**
 * Requests from a gateway worker to the cluster's primary over node:cluster's IPC channel, answered by
 * handlers in the primary. Messages carry a tag of their own, so they pass beside prom-client's (which
 * aggregates metrics over the same channel).
 */
import type { Worker } from 'node:cluster';

const tag = 'annals-gateway';

interface Ask {
  tag: typeof tag;
  id: number;
  kind: string;
  payload: unknown;
}

interface Answer {
  tag: typeof tag;
  id: number;
  result?: unknown;
  error?: string;
}

const isOurs = (message: unknown): message is Ask & Answer =>
  typeof message === 'object' && message !== null && (message as { tag?: unknown }).tag === tag;

export type Handlers = Record<string, (payload: never) => unknown>;

/** In the primary: answers `worker`'s requests with `handlers`, one per kind. */
export const answerWorker = (worker: Worker, handlers: Handlers) => {
  worker.on('message', (message: unknown) => {
    if (!isOurs(message)) return;
    const reply = (answer: Omit<Answer, 'tag' | 'id'>) => {
      if (worker.isConnected()) worker.send({ tag, id: message.id, ...answer });
    };
    const handler = handlers[message.kind];
    if (handler === undefined) return reply({ error: `no handler for ${message.kind}` });
    Promise.resolve()
      .then(() => handler(message.payload as never))
      .then(
        (result) => reply({ result }),
        (error: unknown) => reply({ error: error instanceof Error ? error.message : String(error) }),
      );
  });
};

/** In a worker: asks the primary, failing after `timeoutMs` rather than waiting on a primary that is gone. */
export const createAsker = (defaultTimeoutMs = 2000) => {
  let next = 0;
  const waiting = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void; timer: NodeJS.Timeout }>();
  process.on('message', (message: unknown) => {
    if (!isOurs(message)) return;
    const waiter = waiting.get(message.id);
    if (waiter === undefined) return;
    waiting.delete(message.id);
    clearTimeout(waiter.timer);
    if (message.error === undefined) waiter.resolve(message.result);
    else waiter.reject(new Error(message.error));
  });
  return <T>(kind: string, payload: unknown, timeoutMs = defaultTimeoutMs): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const id = ++next;
      const timer = setTimeout(() => {
        waiting.delete(id);
        reject(new Error(`the gateway's primary did not answer ${kind} within ${timeoutMs} ms`));
      }, timeoutMs);
      waiting.set(id, { resolve: resolve as (value: unknown) => void, reject, timer });
      process.send!({ tag, id, kind, payload } satisfies Ask);
    });
};

export type Asker = ReturnType<typeof createAsker>;
