/**
 * Projections (DESIGN.md section 9): a named, versioned set of handlers that turn events into changes of a
 * read model. A runner feeds a projection from a catch-up subscription and writes each batch of changes
 * and the projection's checkpoint in one read-model transaction, so every event takes effect exactly once,
 * across crashes.
 */
import type { AllFilter, RecordedEvent } from '../store/model.js';

export interface ProjectionContext {
  /** The event comes again, from a replay of a subset: a handler should be idempotent for it. */
  replay: boolean;
}

/** A handler changes the read model for one event, through the read model's own handle (`Db`). */
export type ProjectionHandler<Db> = (db: Db, event: RecordedEvent, context: ProjectionContext) => void;

export interface Projection<Db> {
  /** Letters, digits, '-' and '_': it names the projection's tables and its checkpoint. */
  name: string;
  /** Raised when the handlers change what they write: a new version is rebuilt beside the serving one. */
  version: number;
  /** Which events it reads; the whole log by default. Types without a handler are skipped. */
  source?: AllFilter;
  /** Creates the version's tables; runs once, in the transaction that records the version's start. */
  init: (db: Db) => void;
  handlers: Readonly<Record<string, ProjectionHandler<Db>>>;
}

/**
 * A read model's database, as a runner needs it: the checkpoint of each projection version, kept in the
 * same database as its tables and moved in the same transaction as the changes.
 */
export interface ReadModel<Db> {
  /** The version's checkpoint (the position of the last event applied; 0 before any), creating its tables first when new. */
  start(projection: Projection<Db>): Promise<bigint>;
  /**
   * Runs `apply` and moves the checkpoint from `from` to `to` in one transaction. False, with nothing
   * written, when the checkpoint is no longer at `from`: another runner of the version got there first.
   * A throw from `apply` rolls the transaction back and reaches the caller.
   */
  commit(projection: Projection<Db>, from: bigint, to: bigint, apply: (db: Db) => void): Promise<boolean>;
  close(): Promise<void>;
}
