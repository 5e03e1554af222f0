/** The embedded event store: `import { openEventStore } from 'annals'`. */
export {
  openEventStore,
  openSqliteReadModel,
  openPostgresReadModel,
  defaultSqlitePath,
  type OpenOptions,
  type Durability,
} from './engines/open.js';
export type { SqliteReadModel } from './engines/sqlite/read-model.js';
export type {
  PostgresReadModel,
  PostgresReadModelDb,
  PostgresReadModelOptions,
  PostgresQueryResult,
} from './engines/postgres/read-model.js';
export type { EventStore } from './store/event-store.js';
export * from './store/model.js';
export * from './store/errors.js';
export { UpcastError, type Upcast, type Upcaster, type Upcasters } from './store/upcasting.js';
export { defaultLimits, type Limits } from './store/limits.js';
export * from './bus/groups/model.js';
export { ParkError, SkipError } from './bus/groups/consume.js';
export type { Decider, DecidedEvent, SnapshotPolicy, StoredEvent } from './command/decider.js';
export type { Snapshot, SnapshotInput, Snapshots } from './command/snapshots/model.js';
export type {
  ProjectionInfo,
  ProjectionProgress,
  ProjectionReplayOptions,
  ProjectionRequest,
  ProjectionState,
  Projections,
  RequestOutcome,
  RunnerReport,
} from './projection/registry/model.js';
export { handleCommand, type CommandResult, type HandleCommandOptions } from './command/handle-command.js';
export { createStateCache, type StateCache } from './command/state-cache.js';
export { aggregateStream, type Aggregated } from './command/aggregate.js';
export { DeciderSpecification } from './command/specification.js';
export type { Projection, ProjectionBatchHandler, ProjectionContext, ProjectionHandler, ReadModel } from './projection/model.js';
export { defineProjection, type ProjectionDefinition } from './projection/define.js';
export { runProjections, type ProjectionRunners, type RunProjectionsOptions } from './projection/run-projections.js';
export { runProjection, type ProjectionRunner, type RunnerStatus, type RunnerState, type RunOptions } from './projection/run.js';
export { createMemoryReadModel, type MemoryDb, type MemoryReadModel, type MemoryTable } from './projection/memory-read-model.js';
export {
  createProjectionCache,
  PositionNotReachedError,
  type CacheResult,
  type CacheSource,
  type GetOptions,
  type ProjectionCache,
  type ProjectionCacheOptions,
} from './projection/cache/cache.js';
export { followSource } from './projection/cache/follow-source.js';
export type { CacheTier, EntryId, Invalidation, TierSubscriber } from './projection/cache/tier.js';
export { createRedisCacheTier, type RedisCacheTier, type RedisCacheTierOptions } from './engines/redis/cache-tier.js';
export { staleHeaders } from './protocol/stale-headers.js';
