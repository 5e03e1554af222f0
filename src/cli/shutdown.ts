import type { Logger } from 'pino';

/**
 * Stops a server on SIGINT or SIGTERM: `close` finishes what is in flight, then the process exits; a
 * second signal exits at once.
 */
export const closeOnSignals = (
  close: () => Promise<unknown>,
  log: Logger,
  closing: string,
  signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM'],
) => {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) process.exit(1);
    stopping = true;
    log.info({ signal }, `shutting down: ${closing}`);
    close().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  for (const signal of signals) process.on(signal, stop);
};
