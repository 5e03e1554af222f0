import { createGroups } from '../bus/groups/create-groups.js';
import { createProjections } from '../projection/registry/create-projections.js';
import type { EngineCore } from './engine.js';
import { ConflictError } from './errors.js';
import type { EventStore } from './event-store.js';
import { identityAfterImport, nextEpoch } from './importing.js';
import { defaultLimits, type Limits } from './limits.js';
import { createLiveTail } from './live-tail.js';
import { pageSize, pagesOfAll, pagesOfStream } from './reading.js';
import { followAll, followStream } from './subscriptions.js';
import type { Upcasters } from './upcasting.js';
import { maxPosition } from './validate.js';
import { wrapStore, type StoreCore } from './wrap-store.js';

/** The embedded store over an engine: long reads in pages, and subscriptions that share a live tail. */
export const createEventStore = (engine: EngineCore, limits: Limits = defaultLimits, upcasters?: Upcasters): EventStore => {
  const tail = createLiveTail({
    changes: engine.changes,
    readAfter: (after, to, limit, filter) => engine.readAll({ from: after + 1n, to, direction: 'forwards', limit, filter }),
    pageSize,
  });

  // Best effort: an engine that cannot answer now fails the subscription's first read, which retries.
  const syncChanges = async () => engine.syncChanges?.().catch(() => undefined);

  const core: StoreCore = {
    ...engine,
    groups: createGroups(engine.groups, { changes: engine.changes, readAll: (query) => engine.readAll(query) }),
    projections: createProjections(engine.projections),
    iterateStream: (stream, query) => pagesOfStream((page) => engine.readStream(stream, page), query),
    iterateAll: (query) => pagesOfAll((page) => engine.readAll(page), query),
    iterateAllRecords: (query) => pagesOfAll((page) => engine.readAllRecords(page), query),
    subscribe({ stream, filter, from, checkpoints, retry, onStatus }, signal) {
      const following = { changes: engine.changes, tail, signal, retry, onStatus };
      if (stream !== undefined) {
        const last = async () => (await engine.readStream(stream, { from: Number.MAX_SAFE_INTEGER, direction: 'backwards', limit: 1 }))[0];
        const start = async () => {
          await syncChanges();
          return from === 'start' ? -1 : from === 'end' ? ((await last())?.revision ?? -1) : Number(from);
        };
        return followStream(following, { stream, start, read: (query) => engine.readStream(stream, query) });
      }
      // The head of the whole log, system events included, so that `end` means now whatever the filter.
      const last = async () =>
        (await engine.readAll({ from: maxPosition, direction: 'backwards', limit: 1, filter: { includeSystem: true } }))[0];
      const start = async () => {
        await syncChanges();
        if (from === 'start') return 0n;
        if (from === 'end') return (await last())?.position ?? 0n;
        // Positions are never reused, so a cursor beyond the head comes from another store or another
        // epoch of this one (a restore from before it): following it would skip what comes in between.
        const head = await engine.headPosition();
        if (from > head) {
          throw new ConflictError(
            `position ${from} is beyond this store's head, ${head}: a cursor of another store, or of a time before a restore`,
          );
        }
        return from;
      };
      return followAll(following, { filter, start, checkpoints, read: (query) => engine.readAll(query) });
    },
    async importEvents({ events, keepPositions, source }) {
      const current = await engine.identity();
      const identity = source === undefined ? current : identityAfterImport(current, await engine.headPosition(), source);
      const headPosition = events.length === 0 ? await engine.headPosition() : await engine.importEvents(events, keepPositions);
      if (identity !== current) await engine.setIdentity(identity);
      return { events: events.length, headPosition };
    },
    async startEpoch() {
      const identity = nextEpoch(await engine.identity(), await engine.headPosition());
      await engine.setIdentity(identity);
      return identity;
    },
    async close() {
      tail.close();
      await engine.close();
    },
  };
  return wrapStore(core, limits, upcasters);
};
