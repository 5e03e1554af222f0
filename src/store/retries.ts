/**
 * The retry policy of subscriptions (embedded and over HTTP alike): after each failure in a row, wait
 * longer (doubling from the initial delay up to the maximum, half of it jittered so that many
 * subscribers do not come back at once), until `maxAttempts` failures in a row; report every change.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { UnavailableError } from './errors.js';
import type { RetryPolicy, SubscriptionStatus } from './model.js';

/** The wait before retry number `failures + 1`. */
const retryDelayMs = ({ initialDelayMs, maxDelayMs }: Required<RetryPolicy>, failures: number): number => {
  const delay = Math.min(maxDelayMs, initialDelayMs * 2 ** Math.min(failures, 30));
  return Math.round(delay / 2 + (Math.random() * delay) / 2);
};

export const createRetries = (
  policy: Required<RetryPolicy>,
  onStatus: ((status: SubscriptionStatus) => void) | undefined,
  signal: AbortSignal,
) => {
  let failures = 0;
  return {
    /** After a success: a recovery is reported, and the count starts over. */
    succeeded() {
      if (failures > 0) onStatus?.({ state: 'connected' });
      failures = 0;
    },
    /** After a failure: waits before the next attempt, or throws `error` once the policy allows no more. */
    async failed(error: UnavailableError) {
      if (failures >= policy.maxAttempts) {
        onStatus?.({ state: 'failed', error });
        throw error;
      }
      const delayMs = retryDelayMs(policy, failures++);
      onStatus?.({ state: 'reconnecting', attempt: failures, delayMs, error });
      await sleep(delayMs, undefined, { signal }).catch(() => undefined);
    },
  };
};
