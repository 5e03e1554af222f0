/**
 * Group commit: writes that arrive while the event loop is busy are run together in one SQLite
 * transaction, so many concurrent writers share one fsync. A write refused by the rules (an AnnalsError)
 * must have written nothing (it checks before it writes, or undoes what it wrote); the others in its group
 * still commit. Any other failure is the database failing: then nothing in the group can be trusted, so
 * the whole group rolls back and every write in it fails.
 */
import type Database from 'better-sqlite3';
import { AnnalsError } from '../../store/errors.js';

interface PendingWrite {
  run: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

export interface WriteQueue {
  /** Queues `run` to execute inside the next group's transaction; resolves once that group is committed. */
  write<T>(run: () => T): Promise<T>;
  /** Waits for every queued write. */
  drain(): Promise<void>;
}

export const createWriteQueue = (
  db: Database.Database,
  hooks: {
    beforeCommit: () => void;
    afterCommit: () => void;
    afterRollback: () => void;
    /** Turns a database failure into the error callers get. */
    failure: (error: unknown) => Error;
  },
): WriteQueue => {
  let queue: PendingWrite[] = [];
  let scheduled: Promise<void> | undefined;

  const runGroup = db.transaction((group: PendingWrite[]) => {
    const outcomes = group.map((pending) => {
      try {
        return { ok: true as const, value: pending.run() };
      } catch (error) {
        if (error instanceof AnnalsError) return { ok: false as const, error };
        throw error;
      }
    });
    hooks.beforeCommit();
    return outcomes;
  });

  const flush = () => {
    const group = queue;
    queue = [];
    scheduled = undefined;
    let outcomes;
    try {
      outcomes = runGroup.immediate(group);
    } catch (error) {
      hooks.afterRollback();
      const failure = hooks.failure(error);
      for (const pending of group) pending.reject(failure);
      return;
    }
    hooks.afterCommit();
    outcomes.forEach((outcome, index) => {
      const pending = group[index]!;
      if (outcome.ok) pending.resolve(outcome.value);
      else pending.reject(outcome.error);
    });
  };

  return {
    write<T>(run: () => T) {
      return new Promise<T>((resolve, reject) => {
        queue.push({ run, resolve: resolve as (value: unknown) => void, reject });
        scheduled ??= new Promise<void>((done) =>
          setImmediate(() => {
            flush();
            done();
          }),
        );
      });
    },
    async drain() {
      while (scheduled) await scheduled;
    },
  };
};
