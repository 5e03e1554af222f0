/**
 * The projection runner: reads the log from the projection's checkpoint through a catch-up subscription
 * and commits the changes of each batch with the checkpoint in one read-model transaction (batches of up
 * to `batchSize` events while catching up, then each live event as it comes). A handler that throws
 * stops the runner with its error visible; the event is never skipped. A runner that finds the
 * checkpoint moved by another runner of the same version stops too (fencing): two runners never both
 * apply an event.
 */
import type { EventStore } from '../store/event-store.js';
import { isCaughtUp, isCheckpoint, type RecordedEvent } from '../store/model.js';
import type { Projection, ReadModel } from './model.js';

export type RunnerState = 'catching-up' | 'live' | 'failed' | 'fenced' | 'stopped';

export interface RunnerStatus {
  name: string;
  version: number;
  state: RunnerState;
  /** The position of the last event applied and committed. */
  position: bigint;
  /** What stopped a failed runner: the handler's error, with the event it failed on. */
  lastError?: { message: string; eventId?: string; eventType?: string; position?: bigint };
}

export interface ProjectionRunner {
  status(): RunnerStatus;
  /** Settles when the runner stops: closed, failed or fenced (`status()` says which). */
  readonly done: Promise<void>;
  /** Stops after the batch under way is committed. */
  close(): Promise<void>;
}

export interface RunOptions {
  /** Most events in one read-model transaction while catching up; default 1000. */
  batchSize?: number;
}

export const runProjection = <Db>(
  store: EventStore,
  projection: Projection<Db>,
  readModel: ReadModel<Db>,
  { batchSize = 1000 }: RunOptions = {},
): ProjectionRunner => {
  const { name, version } = projection;
  const status: RunnerStatus = { name, version, state: 'catching-up', position: 0n };
  const controller = new AbortController();
  let failing: RecordedEvent | undefined;

  /** Applies the batch and moves the checkpoint to `to`; false when fenced. */
  const commit = async (batch: RecordedEvent[], to: bigint): Promise<boolean> => {
    if (to <= status.position) return true;
    const committed = await readModel.commit(projection, status.position, to, (db) => {
      for (const event of batch) {
        failing = event;
        projection.handlers[event.type]?.(db, event, { replay: false });
      }
      failing = undefined;
    });
    if (committed) status.position = to;
    return committed;
  };

  const run = async () => {
    status.position = await readModel.start(projection);
    const subscription = store.subscribe({
      filter: projection.source,
      from: status.position,
      checkpoints: true,
      signal: controller.signal,
    });
    try {
      let batch: RecordedEvent[] = [];
      let reached = status.position;
      for await (const message of subscription) {
        if (isCaughtUp(message)) status.state = 'live';
        else if (isCheckpoint(message)) reached = message.checkpoint;
        else {
          reached = message.position;
          if (projection.handlers[message.type] !== undefined) batch.push(message);
        }
        if (status.state === 'catching-up' && batch.length < batchSize && !isCheckpoint(message)) continue;
        const committed = await commit(batch, reached);
        batch = [];
        if (!committed) {
          status.state = 'fenced';
          status.lastError = { message: `another runner of ${name} version ${version} moved its checkpoint past ${status.position}` };
          break;
        }
        if (controller.signal.aborted) break;
      }
    } finally {
      await subscription.close();
    }
  };

  const done = run().then(
    () => {
      if (status.state !== 'fenced') status.state = 'stopped';
    },
    (error: unknown) => {
      status.state = 'failed';
      status.lastError = {
        message: error instanceof Error ? error.message : String(error),
        ...(failing === undefined ? {} : { eventId: failing.id, eventType: failing.type, position: failing.position }),
      };
    },
  );

  return {
    status: () => ({ ...status }),
    done,
    async close() {
      controller.abort();
      await done;
    },
  };
};
