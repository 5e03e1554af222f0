/**
 * A replica's work (DESIGN.md section 11): follow a primary's whole log, system events included, and
 * import it into a local store keeping positions, so that a cursor means the same on both.
 *
 * Events are taken from a catch-up subscription as they come and written in batches: while one batch is
 * written the next gathers, so a replica far behind writes large batches and one that keeps up writes
 * each event as it arrives. The local store takes the primary's identity on the first import; a primary
 * that is another store, or has started a new epoch (restored, or another replica promoted), is refused
 * as a `conflict` and the replica stops following rather than mix two logs. Any other failure (the
 * primary out of reach, the local store failing) is retried from the local head.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ConflictError } from './errors.js';
import type { EventStore } from './event-store.js';
import { isCaughtUp, isEvent, type RecordedEvent, type StoreIdentity } from './model.js';

export interface ReplicaStatus {
  /** Whether the subscription to the primary is open and past its history. */
  live: boolean;
  /** Position of the last event written here. */
  appliedPosition: bigint;
  /**
   * How far behind the primary this store may be: 0 while live with nothing left to write; the age of the
   * oldest event received and not yet written; otherwise the time since it was last level with the primary.
   */
  lagSeconds: number;
  /** Why following stopped for good (a conflict), when it did. */
  stopped?: string;
}

export interface FollowOptions {
  /** The primary (a client). Its token must read every stream and its metadata: an admin for every stream. */
  source: EventStore;
  /** The local store, written only by this follower. */
  target: EventStore;
  /** Most events written in one import. Default 1,000. */
  batchSize?: number;
  /** Wait before following again after a failure. Default 1 s. */
  retryDelayMs?: number;
  /** Told of each failure, and of a conflict that stops the follower. */
  onError?: (error: unknown, stopped: boolean) => void;
}

export interface Follower {
  status(): ReplicaStatus;
  /** Stops following and waits for the batch being written. */
  stop(): Promise<void>;
}

const pause = (ms: number, signal: AbortSignal) => sleep(ms, undefined, { signal }).catch(() => undefined);

const identityOf = ({ storeId, epoch, epochStart }: StoreIdentity): StoreIdentity => ({ storeId, epoch, epochStart });

export const followStore = ({ source, target, batchSize = 1000, retryDelayMs = 1000, onError }: FollowOptions): Follower => {
  const controller = new AbortController();
  const { signal } = controller;
  /** Connected, and past the primary's history: what arrives now is live. */
  let live = false;
  let appliedPosition = 0n;
  /** When this follower last knew itself level with the primary. */
  let levelAt = Date.now();
  let stopped: string | undefined;
  let pending: RecordedEvent[] = [];

  /** Writes what has gathered, batch by batch, until nothing is left. */
  const writePending = async (primary: StoreIdentity) => {
    while (pending.length > 0) {
      const batch = pending.slice(0, batchSize);
      const { headPosition } = await target.importEvents(batch, { keepPositions: true, source: primary });
      pending = pending.slice(batch.length);
      appliedPosition = headPosition;
    }
    if (live) levelAt = Date.now();
  };

  /** One subscription, from the local head, until it fails or the follower stops. */
  const followOnce = async () => {
    // The primary's identity is checked before anything is read: a stale one would let positions clash.
    const primary = identityOf(await source.stats());
    await source.readAcls();
    appliedPosition = (await target.importEvents([], { keepPositions: true, source: primary })).headPosition;
    const inner = new AbortController();
    const stopInner = () => inner.abort();
    signal.addEventListener('abort', stopInner, { once: true });
    let writing: Promise<void> | undefined;
    let failure: unknown;
    const write = () => {
      writing ??= writePending(primary)
        .catch((error: unknown) => {
          failure = error;
          inner.abort();
        })
        .finally(() => {
          writing = undefined;
        });
      return writing;
    };
    try {
      const subscription = source.subscribe({
        filter: { includeSystem: true },
        from: appliedPosition,
        signal: inner.signal,
        // No reconnection inside: the primary may be another epoch by then, which followOnce checks first.
        retry: { maxAttempts: 0 },
      });
      for await (const message of subscription) {
        if (isEvent(message)) {
          pending.push(message);
          void write();
          // Far behind: let the writer catch up rather than hold the primary's whole log in memory.
          if (pending.length >= 10 * batchSize) await writing;
        } else if (isCaughtUp(message)) {
          live = true;
          if (pending.length === 0) levelAt = Date.now();
        }
      }
    } finally {
      signal.removeEventListener('abort', stopInner);
      live = false;
      await writing;
    }
    if (failure !== undefined) throw failure;
  };

  const run = async () => {
    while (!signal.aborted) {
      try {
        await followOnce();
      } catch (error) {
        pending = [];
        if (signal.aborted) return;
        const conflict = error instanceof ConflictError;
        if (conflict) stopped = error.message;
        onError?.(error, conflict);
        if (conflict) return;
      }
      await pause(retryDelayMs, signal);
    }
  };
  const running = run();

  return {
    status() {
      const now = Date.now();
      const oldest = pending[0];
      const lagMs = oldest !== undefined ? now - oldest.recordedAt.getTime() : live ? 0 : now - levelAt;
      return { live, appliedPosition, lagSeconds: Math.max(0, lagMs) / 1000, ...(stopped === undefined ? {} : { stopped }) };
    },
    async stop() {
      controller.abort();
      await running;
    },
  };
};
