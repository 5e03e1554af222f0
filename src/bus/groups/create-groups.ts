/**
 * The embedded groups core: reads each group's source from the log into the engine's entries, and waits
 * for work on behalf of long polls. The engine keeps the state and its rules (engine.ts); this layer is
 * the same on every engine.
 *
 * A group reads its source as `$all` does, in windows of at most `scanWindow` positions, so a rare filter
 * never rescans the log, and at most `maxPending` unsettled events ahead. Adding what was read is a
 * compare-and-set on the group's cursor: when several servers share a group (PostgreSQL), one of them adds
 * a range and the others find the cursor moved and read on from there.
 */
import type { ChangeFeed } from '../../store/change-feed.js';
import { ConflictError, InvalidArgumentError, NotFoundError } from '../../store/errors.js';
import { matchesFilter } from '../../store/filter.js';
import { isSystemStream, type AllFilter, type RecordedEvent } from '../../store/model.js';
import { scanWindow } from '../../store/subscriptions.js';
import { maxPosition, type AllQuery } from '../../store/validate.js';
import type { GroupRow, GroupsEngine, Lease, SettleAction } from './engine.js';
import {
  defaultGroupSettings,
  maxCountedLag,
  type Delivery,
  type GroupInfo,
  type GroupSettings,
  type GroupSource,
  type SettleResult,
} from './model.js';
import { decodeDeliveryId, encodeDeliveryId, type CheckedSettings } from './validate.js';
import type { GroupsCore } from './wrap-groups.js';

/** The log a group reads from. */
export interface GroupLog {
  changes: ChangeFeed;
  readAll(query: AllQuery): Promise<RecordedEvent[]>;
}

/** A waiting pull looks again at least this often: another server may have released or added work. */
const recheckMs = 1_000;
/** Windows one fill reads at most, so that a pull answers soon even while a rare filter catches up. */
const windowsPerFill = 16;

/** The `$all` filter a source reads with; `exact` names the one stream a `{ stream }` source keeps. */
const readerOf = (settings: GroupSettings): { filter: AllFilter | undefined; keep: (event: RecordedEvent) => boolean } => {
  const { source, scope } = settings;
  const inScope = (stream: string) => scope === undefined || scope.some((prefix) => stream.startsWith(prefix));
  if ('stream' in source)
    return {
      filter: { streams: [source.stream], ...(isSystemStream(source.stream) ? { includeSystem: true } : {}) },
      keep: (event) => event.stream === source.stream && inScope(event.stream),
    };
  const base: AllFilter | undefined = 'category' in source ? { category: source.category } : 'filter' in source ? source.filter : undefined;
  // Without prefixes of its own, the filter can carry the scope, and the engine's index does the work.
  const filter = base?.streams === undefined && scope !== undefined ? { ...base, streams: scope } : base;
  return { filter, keep: (event) => inScope(event.stream) };
};

const sameSource = (a: GroupSource, b: GroupSource): boolean => JSON.stringify(a) === JSON.stringify(b);
const sameScope = (a: string[] | undefined, b: string[] | undefined): boolean => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

const changedFields = (existing: GroupSettings, wanted: GroupSettings): string[] =>
  (Object.keys(wanted) as (keyof GroupSettings)[]).filter((key) =>
    key === 'from' ? existing.from !== wanted.from : JSON.stringify(existing[key]) !== JSON.stringify(wanted[key]),
  );

export const createGroups = (engine: GroupsEngine, log: GroupLog): GroupsCore => {
  /** Pulls waiting in this process, woken by anything this process does to a group. */
  const waiters = new Set<() => void>();
  const changed = () => {
    for (const wake of waiters) wake();
  };

  /** The id each group had when this process last read it: what a pull tries first. */
  const knownIds = new Map<string, number>();

  const rowOf = async (name: string): Promise<GroupRow> => {
    const row = await engine.get(name);
    if (row === undefined) {
      knownIds.delete(name);
      throw new NotFoundError(`group '${name}' does not exist`);
    }
    if (knownIds.size >= 10_000 && !knownIds.has(name)) knownIds.clear();
    knownIds.set(name, row.id);
    return row;
  };

  const deliveriesOf = (group: number, leases: Lease[]): Delivery[] =>
    leases.map(({ entry, attempt, replay, event }) => ({ id: encodeDeliveryId(group, entry, attempt), attempt, replay, event }));

  const head = async (): Promise<bigint> =>
    (await log.readAll({ from: maxPosition, direction: 'backwards', limit: 1, filter: { includeSystem: true } }))[0]?.position ?? 0n;

  /**
   * Reads source events after the group's cursor into its entries while it has room. Says how many it
   * added and where it stopped: at the head (`caughtUp`, with the cursor to wait after), with no room
   * left (`full`), or with more to read at once (`more`: its windows used up, or another server moved
   * the cursor).
   */
  const fill = async (row: GroupRow): Promise<{ added: number } & ({ state: 'caughtUp'; cursor: bigint } | { state: 'full' | 'more' })> => {
    const { settings } = row;
    if (row.replay === undefined && row.lastPosition >= log.changes.head) return { state: 'caughtUp', cursor: row.lastPosition, added: 0 };
    const reader = readerOf(settings);
    const maxRoom = settings.maxPending - (await engine.pending(row.id));
    let room = maxRoom;
    if (row.replay !== undefined && room > 0) {
      const { next, to: end, stream, category } = row.replay;
      const to = end - next > scanWindow ? next + scanWindow : end;
      const page = await log.readAll({ from: next + 1n, to, direction: 'forwards', limit: room, filter: reader.filter });
      const kept = page.filter(
        (event) =>
          reader.keep(event) &&
          (stream === undefined || event.stream === stream) &&
          (category === undefined || matchesFilter({ category, includeSystem: true }, event.stream, event.type)),
      );
      const reached = page.length === room ? page.at(-1)!.position : to;
      if (
        await engine.addReplay(
          row.id,
          next,
          reached,
          kept.map(({ position, stream }) => ({ position, stream })),
        )
      )
        room -= kept.length;
    }
    let cursor = row.lastPosition;
    for (let windows = 0; windows < windowsPerFill; windows++) {
      const top = log.changes.head;
      if (cursor >= top) return { state: 'caughtUp', cursor, added: maxRoom - room };
      if (room <= 0) return { state: 'full', added: maxRoom - room };
      const to = top - cursor > scanWindow ? cursor + scanWindow : top;
      const page = await log.readAll({ from: cursor + 1n, to, direction: 'forwards', limit: room, filter: reader.filter });
      const reached = page.length === room ? page.at(-1)!.position : to;
      const kept = page.filter(reader.keep);
      if (
        !(await engine.add(
          row.id,
          cursor,
          reached,
          kept.map(({ position, stream }) => ({ position, stream })),
        ))
      )
        return { state: 'more', added: maxRoom - room };
      cursor = reached;
      room -= kept.length;
    }
    return { state: 'more', added: maxRoom - room };
  };

  /** Waits for something that may give a pull work: events after `cursor`, a change by this process, or `ms`. */
  const waitForWork = async (cursor: bigint | undefined, ms: number, signal: AbortSignal | undefined) => {
    const done = new AbortController();
    const stop = () => done.abort();
    signal?.addEventListener('abort', stop, { once: true });
    waiters.add(stop);
    const timer = setTimeout(stop, ms);
    try {
      await (cursor === undefined
        ? new Promise((resolve) => done.signal.addEventListener('abort', resolve, { once: true }))
        : log.changes.wait(cursor, done.signal));
    } finally {
      clearTimeout(timer);
      waiters.delete(stop);
      signal?.removeEventListener('abort', stop);
    }
  };

  const refsOf = (row: GroupRow, ids: string[]) =>
    ids.map((id, index) => {
      const ref = decodeDeliveryId(id);
      if (ref.group !== row.id)
        throw new InvalidArgumentError(
          `ids[${index}] is '${id}', a delivery of another group; allowed: ids that pulls of group '${row.name}' returned`,
        );
      return ref;
    });

  const info = async (row: GroupRow): Promise<GroupInfo> => {
    const state = await engine.state(row.id);
    const reader = readerOf(row.settings);
    const unread = (
      await log.readAll({ from: row.lastPosition + 1n, direction: 'forwards', limit: maxCountedLag + 1, filter: reader.filter })
    ).filter(reader.keep);
    const events = state.pending + unread.length;
    const oldest = state.oldestUnsettledAt ?? unread[0]?.recordedAt;
    return {
      name: row.name,
      settings: row.settings,
      checkpoint: state.checkpoint,
      lastPosition: row.lastPosition,
      lag: {
        events: Math.min(events, maxCountedLag),
        estimated: events > maxCountedLag,
        seconds: oldest === undefined ? 0 : Math.max(0, (Date.now() - oldest.getTime()) / 1000),
      },
      pending: state.pending,
      inFlight: state.inFlight,
      parked: state.parked,
      consumers: state.consumers,
      rate: state.settledLastMinute / 60,
      state: row.settings.paused ? 'paused' : unread.length > 0 ? 'catching_up' : 'live',
      ...(row.replay === undefined ? {} : { replay: { from: row.replay.from, to: row.replay.to, next: row.replay.next } }),
    };
  };

  return {
    async create(name, given: CheckedSettings) {
      const from = given.from === 'end' ? await head() : given.from === 'start' || given.from === undefined ? 0n : given.from;
      const settings: GroupSettings = { ...defaultGroupSettings, source: {}, ...given, from };
      const { created, group } = await engine.create(name, settings, from);
      if (created) {
        changed();
        return { created, settings: group.settings };
      }
      const differ = changedFields(group.settings, given.from === 'end' ? { ...settings, from: group.settings.from } : settings);
      if (differ.length > 0) throw new ConflictError(`group '${name}' exists with other settings: ${differ.join(', ')}`);
      return { created, settings: group.settings };
    },

    async update(name, patch) {
      const row = await rowOf(name);
      const { source, from, scope, ...mutable } = patch;
      const fixed = [
        source !== undefined && !sameSource(source, row.settings.source) && 'source',
        from !== undefined && from !== row.settings.from && 'from',
        scope !== undefined && !sameScope(scope, row.settings.scope) && 'scope',
      ].filter((field) => field !== false);
      if (fixed.length > 0) throw new ConflictError(`${fixed.join(', ')} of group '${name}' cannot change; create a new group instead`);
      const updated = await engine.update(name, { ...row.settings, ...mutable });
      if (updated === undefined) throw new NotFoundError(`group '${name}' does not exist`);
      changed();
      return updated.settings;
    },

    async delete(name) {
      if (!(await engine.delete(name))) throw new NotFoundError(`group '${name}' does not exist`);
      changed();
    },

    async list() {
      return Promise.all((await engine.list()).map(info));
    },

    async info(name) {
      return info(await rowOf(name));
    },

    async pull(name, { consumer, max, waitMs }, signal) {
      const deadline = Date.now() + waitMs;
      // A busy group has entries to lease: one call, with the id known from before. The engine keeps
      // the rules (paused, limits) itself and leases nothing for a group that is gone, so a pull that
      // gets nothing this way takes the whole way below, which reads the group afresh.
      const known = knownIds.get(name);
      if (known !== undefined) {
        const { leases } = await engine.lease(known, consumer, max);
        if (leases.length > 0) return deliveriesOf(known, leases);
      }
      for (;;) {
        const row = await rowOf(name);
        // Lease from what the group holds; read more of the source only when that is not enough.
        let { leases, nextDueInMs } = await engine.lease(row.id, consumer, max);
        const filled = leases.length < max && !row.settings.paused ? await fill(row) : undefined;
        if (filled !== undefined && filled.added > 0) {
          const more = await engine.lease(row.id, consumer, max - leases.length);
          leases = [...leases, ...more.leases];
          nextDueInMs = more.nextDueInMs;
        }
        if (leases.length > 0) return deliveriesOf(row.id, leases);
        const left = deadline - Date.now();
        if (left <= 0 || signal?.aborted) return [];
        if (filled?.state === 'more') continue;
        const cursor = filled?.state === 'caughtUp' ? filled.cursor : undefined;
        await waitForWork(cursor, Math.min(left, nextDueInMs ?? recheckMs, recheckMs), signal);
      }
    },

    async settle(name, ids, action: SettleAction, reason): Promise<SettleResult> {
      // With the id known from before, one engine call. A group that is gone settles nothing, and an
      // answer that settles nothing is checked the whole way below (asking again changes nothing).
      const known = knownIds.get(name);
      const refs = ids.map(decodeDeliveryId);
      if (known !== undefined && refs.every((ref) => ref.group === known)) {
        const result = await engine.settle(known, refs, action, reason);
        if (result.settled.length > 0) {
          changed();
          return result;
        }
      }
      const row = await rowOf(name);
      const result = await engine.settle(row.id, refsOf(row, ids), action, reason);
      changed();
      return result;
    },

    async extend(name, ids, ms) {
      const row = await rowOf(name);
      return engine.extend(row.id, refsOf(row, ids), ms);
    },

    async parked(name, { after, limit }) {
      const row = await rowOf(name);
      const parked = await engine.parked(row.id, after, limit);
      return parked.length === limit ? { parked, next: parked.at(-1)!.event.position } : { parked };
    },

    async replayParked(name, { ids, limit }) {
      const row = await rowOf(name);
      const replayed = await engine.replayParked(row.id, ids, limit);
      changed();
      return { replayed };
    },

    async deleteParked(name, { ids, limit }) {
      const row = await rowOf(name);
      return { deleted: await engine.deleteParked(row.id, ids, limit) };
    },

    async replay(name, query) {
      const row = await rowOf(name);
      const to = query.to ?? (await engine.state(row.id)).checkpoint;
      if (query.from > to)
        throw new InvalidArgumentError(`from is ${query.from}, after the end of the replay (${to}); allowed: a position <= ${to}`);
      const cursor = {
        from: query.from,
        to,
        next: query.from - 1n,
        ...(query.stream === undefined ? {} : { stream: query.stream }),
        ...(query.category === undefined ? {} : { category: query.category }),
      };
      if (!(await engine.startReplay(row.id, cursor)))
        throw new ConflictError(`a replay of group '${name}' is under way; wait for it to finish`);
      changed();
      return { from: query.from, to };
    },
  };
};
