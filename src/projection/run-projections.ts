import { InvalidArgumentError } from '../store/errors.js';
import type { EventStore } from '../store/event-store.js';
import type { Projection, ReadModel } from './model.js';
import { runProjection, type ProjectionRunner, type RunOptions } from './run.js';

export interface RunProjectionsOptions<Db> extends RunOptions {
  /** The database every projection of the set writes. */
  readModel: ReadModel<Db>;
  /** Stops every runner when aborted. */
  signal?: AbortSignal;
}

export interface ProjectionRunners {
  /** The runner of each projection, by name. */
  readonly runners: ReadonlyMap<string, ProjectionRunner>;
  /** Settles when every runner has stopped. */
  readonly done: Promise<void>;
  close(): Promise<void>;
}

/**
 * Runs a consumer service's projections into one read model, each with its own runner (a handler that
 * throws stops its projection only), reporting to the store's projection registry and carrying out the
 * requests written there.
 */
export const runProjections = <Db>(
  store: EventStore,
  projections: readonly Projection<Db>[],
  { readModel, signal, ...options }: RunProjectionsOptions<Db>,
): ProjectionRunners => {
  const names = projections.map((projection) => projection.name);
  const twice = names.find((name, index) => names.indexOf(name) !== index);
  if (twice !== undefined) throw new InvalidArgumentError(`projections: '${twice}' is given twice; allowed: each projection once`);
  const runners = new Map(
    projections.map((projection) => [
      projection.name,
      runProjection(store, projection, readModel, { registry: store.projections, ...options }),
    ]),
  );
  const close = async () => void (await Promise.all([...runners.values()].map((runner) => runner.close())));
  signal?.addEventListener('abort', () => void close(), { once: true });
  if (signal?.aborted) void close();
  return { runners, done: Promise.all([...runners.values()].map((runner) => runner.done)).then(() => undefined), close };
};
