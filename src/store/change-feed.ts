/**
 * Wakes subscribers when the log grows. Engines call `advance` with the newest position that readers may
 * see; subscribers wait for the head to pass the position they last read.
 */
export interface ChangeFeed {
  readonly head: bigint;
  /** Resolves once `head > after`, or when `signal` aborts or the feed closes. */
  wait(after: bigint, signal: AbortSignal): Promise<void>;
}

export interface ChangeFeedSource extends ChangeFeed {
  advance(head: bigint): void;
  close(): void;
}

export const createChangeFeed = (initialHead = 0n): ChangeFeedSource => {
  let head = initialHead;
  let closed = false;
  const waiters = new Set<{ after: bigint; wake: () => void }>();
  return {
    get head() {
      return head;
    },
    advance(position) {
      if (position <= head) return;
      head = position;
      for (const waiter of waiters) if (head > waiter.after) waiter.wake();
    },
    close() {
      closed = true;
      for (const waiter of waiters) waiter.wake();
    },
    wait(after, signal) {
      if (head > after || closed || signal.aborted) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const waiter = {
          after,
          wake: () => {
            waiters.delete(waiter);
            signal.removeEventListener('abort', waiter.wake);
            resolve();
          },
        };
        waiters.add(waiter);
        signal.addEventListener('abort', waiter.wake, { once: true });
      });
    },
  };
};
