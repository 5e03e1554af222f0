/**
 * Projections (DESIGN.md section 9): a named, versioned set of handlers that turn events into changes of a
 * read model. A runner feeds a projection from a catch-up subscription and writes each batch of changes
 * and the projection's checkpoint in one read-model transaction, so every event takes effect exactly once,
 * across crashes.
 *
 * A read model keeps each projection in builds: a build is one filling of a version's tables (their names
 * suffixed with the build's number, through `context.table`), with its own checkpoint. Projections of one
 * read model name different tables. Queries see the
 * active build through one pointer (views named as the tables, or the memory model's table names), so a
 * rebuild fills a new build beside the serving one and switches in one transaction (blue/green).
 */
import type { AllFilter, RecordedEvent } from '../store/model.js';

export interface BuildContext {
  /**
   * The name of one of the build's tables (or indexes, or anything the build names): `name` suffixed with
   * the build's number. Queries use `name` itself, which the read model points at the active build.
   */
  table(name: string): string;
}

export interface ProjectionContext extends BuildContext {
  /** The event comes again, from a replay of a subset: a handler should be idempotent for it. */
  replay: boolean;
  /** Tells caches that the entry with this key changed: they drop it once the batch is committed. */
  invalidate(key: string): void;
}

/**
 * A handler changes the read model for one event, through the read model's own handle (`Db`). On SQLite
 * and in memory it is synchronous (the batch is one synchronous transaction); on PostgreSQL it may
 * return a promise.
 */
export type ProjectionHandler<Db> = (db: Db, event: RecordedEvent, context: ProjectionContext) => void | Promise<void>;

export interface Projection<Db> {
  /** Letters, digits, '-' and '_': it names the projection's checkpoint and its builds. */
  name: string;
  /** Raised when the handlers change what they write: a new version is rebuilt beside the serving one. */
  version: number;
  /** Which events it reads; the whole log by default. Types without a handler are skipped. */
  source?: AllFilter;
  /** Creates the build's tables, named through `context.table`; runs in the transaction that creates the build. */
  init: (db: Db, context: BuildContext) => void | Promise<void>;
  handlers: Readonly<Record<string, ProjectionHandler<Db>>>;
  /**
   * Optional: applies a whole batch in one call, used instead of `handlers` (which are then not called):
   * for set-based writes, such as one `INSERT ... SELECT FROM unnest(...)` per batch on PostgreSQL. It gets
   * the batch's events of `source.types` (every type when the source names none), in order, in the batch's
   * transaction; it is not called for an empty batch. A throw rolls the batch back and is reported with
   * the batch's first event.
   */
  handleBatch?: ProjectionBatchHandler<Db>;
}

/** Applies a batch of events at once (see `Projection.handleBatch`). */
export type ProjectionBatchHandler<Db> = (db: Db, events: readonly RecordedEvent[], context: ProjectionContext) => void | Promise<void>;

/** One filling of a projection version's tables, with its checkpoint. */
export interface Build {
  name: string;
  version: number;
  /** Numbers the read model's builds (of every projection), from 1; suffixes the build's table names. */
  build: number;
  /** The position of the last event applied (0 before any). */
  position: bigint;
  /** Whether queries see this build. At most one build of a projection is active. */
  active: boolean;
}

/**
 * A read model's database, as a runner needs it: builds of each projection, their checkpoints kept in the
 * same database as their tables and moved in the same transaction as the changes.
 */
export interface ReadModel<Db> {
  /** The projection's builds, oldest first. */
  builds(name: string): Promise<Build[]>;
  /**
   * The build a runner of the projection's version feeds, in one transaction: the active build when it is
   * of this version, else the version's newest build (a rebuild left unfinished), else a new build.
   */
  open(projection: Projection<Db>): Promise<Build>;
  /**
   * A new build of the projection (its tables made by `init`, its checkpoint 0), in one transaction; active
   * at once when the projection has no active build, so queries never find its tables missing.
   */
  create(projection: Projection<Db>): Promise<Build>;
  /**
   * Runs `apply` and moves the build's checkpoint from `from` to `to` in one transaction. False, with
   * nothing written, when the checkpoint is no longer at `from` (another runner of the build got there
   * first) or the build was dropped. A throw from `apply` rolls the transaction back and reaches the caller.
   * On SQLite and in memory, `apply` must not return a promise.
   */
  commit(build: Build, from: bigint, to: bigint, apply: (db: Db) => void | Promise<void>): Promise<boolean>;
  /**
   * Points queries at the build in one transaction, if its checkpoint has reached the active build's
   * (which cannot move during it); false, changing nothing, otherwise. The build that served stays until
   * dropped.
   */
  activate(build: Build): Promise<boolean>;
  /** Removes an inactive build: its tables and checkpoint. A `conflict` for the active build. */
  drop(build: Build): Promise<void>;
  /** The context a build's `init` and handlers name its tables through. */
  context(build: Build): BuildContext;
  close(): Promise<void>;
}

/** What a runner tells caches after each commit: the keys its handlers invalidated, at the new position. */
export interface ProjectionCommit {
  name: string;
  version: number;
  build: number;
  position: bigint;
  keys: readonly string[];
  /** The build became active with this commit: every cached entry of the projection is outdated. */
  activated: boolean;
}
