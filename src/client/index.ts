/**
 * The remote event store: `import { connect } from 'annals/client'`. It implements the same `EventStore`
 * as the embedded store and loads no native module (nothing of SQLite or PostgreSQL).
 */
export { connect, type ConnectOptions } from './connect.js';
export type { EventStore } from '../store/event-store.js';
export * from '../store/model.js';
export * from '../store/errors.js';
export { UpcastError, type Upcast, type Upcaster, type Upcasters } from '../store/upcasting.js';
export * from '../bus/groups/model.js';
export { ParkError, SkipError } from '../bus/groups/consume.js';
export type { Decider, DecidedEvent, SnapshotPolicy, StoredEvent } from '../command/decider.js';
export type { Snapshot, SnapshotInput, Snapshots } from '../command/snapshots/model.js';
export type {
  ProjectionInfo,
  ProjectionProgress,
  ProjectionReplayOptions,
  ProjectionRequest,
  ProjectionState,
  Projections,
  RequestOutcome,
  RunnerReport,
} from '../projection/registry/model.js';
export { handleCommand, type CommandResult, type HandleCommandOptions } from '../command/handle-command.js';
export { createStateCache, type StateCache } from '../command/state-cache.js';
export { aggregateStream, type Aggregated } from '../command/aggregate.js';
