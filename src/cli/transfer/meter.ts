/**
 * Progress of a transfer: how far in the source's log it is (a position against the source's head), with
 * the count of events so far, shown at most once a second (a bar on a terminal, else a line each time).
 */
import { progressDisplay } from '../progress.js';

export interface Meter {
  /** The transfer reached `position`, having moved `events`. */
  at(position: bigint, events: number): void;
  stop(): void;
}

const intervalMs = 1000;

export const meter = (label: string, head: bigint, stream: NodeJS.WriteStream): Meter => {
  const display = progressDisplay(stream);
  let shownAt = 0;
  let last = { position: 0n, events: 0 };
  const show = () =>
    display.show({
      label: `${label}: ${last.events.toLocaleString('en-US')} events`,
      progress: { done: Number(last.position), total: Number(head) },
    });
  return {
    at(position, events) {
      last = { position, events };
      if (Date.now() - shownAt < intervalMs) return;
      shownAt = Date.now();
      show();
    },
    stop() {
      show();
      display.stop();
    },
  };
};
