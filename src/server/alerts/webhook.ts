/**
 * `--alert-webhook URL`: every interval the server looks at its alert conditions (conditions.ts) and POSTs
 * the changes as JSON, `{ alerts: [{ alert, status: 'firing' | 'resolved', labels, summary, since }] }`:
 * a condition when it starts and when it ends, not again while it lasts. A POST that fails is tried again
 * with the next changes (the receiver then gets both), so a receiver that was down hears of what it missed.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { Condition } from './conditions.js';

export interface AlertMessage extends Condition {
  status: 'firing' | 'resolved';
  since: string;
}

export interface WebhookOptions {
  url: string;
  conditions: () => Promise<Condition[]>;
  intervalMs?: number;
  timeoutMs?: number;
  log?: FastifyBaseLogger;
}

const keyOf = (condition: Condition) => `${condition.alert}${JSON.stringify(condition.labels)}`;

/** Starts the checks; returns the function that stops them. */
export const startAlertWebhook = ({ url, conditions, intervalMs = 15_000, timeoutMs = 5000, log }: WebhookOptions): (() => void) => {
  const firing = new Map<string, AlertMessage>();
  let unsent: AlertMessage[] = [];
  let running = false;
  const check = async () => {
    if (running) return;
    running = true;
    try {
      const now = new Date().toISOString();
      const current = new Map((await conditions()).map((condition) => [keyOf(condition), condition]));
      for (const [key, condition] of current) {
        if (firing.has(key)) continue;
        const message: AlertMessage = { ...condition, status: 'firing', since: now };
        firing.set(key, message);
        unsent.push(message);
      }
      for (const [key, message] of firing) {
        if (current.has(key)) continue;
        firing.delete(key);
        unsent.push({ ...message, status: 'resolved', since: now });
      }
      if (unsent.length === 0) return;
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ alerts: unsent }),
        signal: AbortSignal.timeout(timeoutMs),
      });
      await response.arrayBuffer();
      if (!response.ok) throw new Error(`the webhook answered ${response.status}`);
      unsent = [];
    } catch (error) {
      log?.warn({ err: error, url }, 'alert webhook failed; its alerts go with the next try');
    } finally {
      running = false;
    }
  };
  const timer = setInterval(() => void check(), intervalMs);
  timer.unref();
  void check();
  return () => clearInterval(timer);
};
