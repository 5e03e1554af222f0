/**
 * Wakes the change feed when any process commits events: LISTEN on the schema's channel (the append
 * function NOTIFYs the new head at commit), and a slow poll of the head as the fallback for notifications
 * missed while the listening connection was down. The listener reconnects on its own, with backoff.
 */
import pg from 'pg';
import type { ChangeFeedSource } from '../../store/change-feed.js';

export interface WakeUps {
  /** Settles once the first attempt to listen is over, so that an opened store hears every later commit. */
  ready: Promise<void>;
  stop(): Promise<void>;
}

export const startWakeUps = (options: {
  config: pg.ClientConfig;
  channel: string;
  changes: ChangeFeedSource;
  readHead: () => Promise<bigint>;
  pollIntervalMs: number;
}): WakeUps => {
  const { config, channel, changes, readHead, pollIntervalMs } = options;
  let stopped = false;
  let listener: pg.Client | undefined;
  let retry: NodeJS.Timeout | undefined;
  let backoffMs = 50;

  const poll = () => {
    readHead().then(
      (head) => changes.advance(head),
      () => undefined, // the next poll tries again; readers get their own errors
    );
  };

  const reconnect = (dead: pg.Client) => {
    if (listener === dead) listener = undefined;
    dead.removeAllListeners('end');
    dead.end().catch(() => undefined);
    if (stopped || retry !== undefined) return;
    retry = setTimeout(() => {
      retry = undefined;
      void listen();
    }, backoffMs);
    retry.unref();
    backoffMs = Math.min(backoffMs * 2, 2000);
  };

  const listen = async () => {
    const client = new pg.Client(config);
    client.on('notification', (message) => {
      if (message.payload !== undefined && /^\d+$/.test(message.payload)) changes.advance(BigInt(message.payload));
    });
    client.on('error', () => reconnect(client));
    client.on('end', () => reconnect(client));
    try {
      await client.connect();
      await client.query(`LISTEN "${channel}"`);
    } catch {
      reconnect(client);
      return;
    }
    if (stopped) {
      await client.end().catch(() => undefined);
      return;
    }
    listener = client;
    backoffMs = 50;
    poll(); // whatever was committed while nobody listened
  };

  const timer = setInterval(poll, pollIntervalMs);
  timer.unref();

  return {
    ready: listen(),
    async stop() {
      stopped = true;
      clearInterval(timer);
      clearTimeout(retry);
      const client = listener;
      listener = undefined;
      client?.removeAllListeners('end');
      await client?.end().catch(() => undefined);
    },
  };
};
