/**
 * Read-only mode (DESIGN.md section 11). While the store takes no writes (the operator's `--read-only`, a
 * replica, a spent disk budget, a full disk, a database that only reads, or one out of reach), writes are
 * answered at once with 503 `unavailable`, the reason and `Retry-After`, rather than left to wait on the
 * store; reads go on. The server enters the mode on the first failure that names a reason, and leaves it
 * when a write probe succeeds (every `probeIntervalMs`); never when the operator set it.
 */
import { UnavailableError, type ReadOnlyReason } from '../store/errors.js';

export interface ReadOnlyState {
  reason: ReadOnlyReason;
  since: Date;
}

export interface WriteGate {
  /** Why writes are refused now, and since when; undefined while the store takes writes. */
  readonly readOnly: ReadOnlyState | undefined;
  /** Seconds a refused writer should wait before it tries again. */
  readonly retryAfterSeconds: number;
  /** Throws the `unavailable` error a write gets while read-only. */
  check(): void;
  /** Told of every failure: one that names a reason enters read-only mode. */
  observe(error: unknown): void;
  /** A replica was promoted: it takes writes from now on. */
  promote(): void;
  close(): void;
}

export interface WriteGateOptions {
  /** Read-only for good: the operator's flag, or a replica. */
  fixed?: 'flag' | 'replica';
  /** Resolves when a write could land, throws `UnavailableError` with a reason when not (`store.probeWrite`). */
  probe: () => Promise<void>;
  probeIntervalMs?: number;
  onChange?: (state: ReadOnlyState | undefined) => void;
}

const describe = {
  flag: 'the server was started read-only (--read-only)',
  replica: 'this server is a replica; write to its primary',
  disk_budget: 'the disk budget of the store is spent',
  disk_full: 'the disk of the store is full',
  db_read_only: 'the database takes no writes (a standby, or set to read only)',
  down: 'the database is out of reach',
} satisfies Record<ReadOnlyReason, string>;

export const createWriteGate = ({ fixed: fixedAtStart, probe, probeIntervalMs = 5000, onChange }: WriteGateOptions): WriteGate => {
  let fixed = fixedAtStart;
  let readOnly: ReadOnlyState | undefined;
  let timer: NodeJS.Timeout | undefined;
  const set = (state: ReadOnlyState | undefined) => {
    readOnly = state;
    onChange?.(state);
  };
  const probeAgain = () => {
    timer = setTimeout(() => {
      probe().then(
        () => set(undefined),
        (error: unknown) => {
          if (error instanceof UnavailableError && error.reason !== undefined && error.reason !== readOnly?.reason) {
            set({ reason: error.reason, since: new Date() });
          }
          probeAgain();
        },
      );
    }, probeIntervalMs);
    timer.unref();
  };
  if (fixed !== undefined) set({ reason: fixed, since: new Date() });
  return {
    get readOnly() {
      return readOnly;
    },
    retryAfterSeconds: Math.max(1, Math.ceil(probeIntervalMs / 1000)),
    check() {
      if (readOnly !== undefined) {
        throw new UnavailableError(`read-only since ${readOnly.since.toISOString()}: ${describe[readOnly.reason]}`, {
          reason: readOnly.reason,
        });
      }
    },
    observe(error) {
      if (fixed !== undefined || readOnly !== undefined) return;
      if (!(error instanceof UnavailableError) || error.reason === undefined) return;
      set({ reason: error.reason, since: new Date() });
      probeAgain();
    },
    promote() {
      if (fixed !== 'replica') return;
      fixed = undefined;
      set(undefined);
    },
    close: () => clearTimeout(timer),
  };
};
