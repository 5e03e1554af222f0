/**
 * Consumer groups in memory: the reference for the SQL engines, with the same rules in plain code.
 * Nothing survives the process.
 */
import type {
  DeliveryRef,
  EntryInput,
  GroupRow,
  GroupState,
  GroupsEngine,
  Lease,
  ReplayCursor,
  SettleAction,
} from '../../bus/groups/engine.js';
import { retryDelay, type GroupSettings, type ParkedEvent, type SettleResult } from '../../bus/groups/model.js';
import type { RecordedEvent } from '../../store/model.js';

interface Entry {
  entry: number;
  position: bigint;
  stream: string;
  replay: boolean;
  /** Attempts made so far; 0 before the first delivery. */
  attempt: number;
  consumer?: string;
  leaseUntil?: number;
  dueAt: number;
}

interface Parked {
  position: bigint;
  stream: string;
  reason: string;
  attempts: number;
  parkedAt: number;
}

interface Group {
  id: number;
  name: string;
  settings: GroupSettings;
  lastPosition: bigint;
  replay?: ReplayCursor;
  /** Unsettled entries by entry number, which is also their order. */
  entries: Map<number, Entry>;
  parked: Map<bigint, Parked>;
  consumers: Map<string, number>;
  /** When each settle of the last minute happened. */
  settles: number[];
}

const minute = 60_000;

export const createMemoryGroups = (eventAt: (position: bigint) => RecordedEvent | undefined): GroupsEngine => {
  const groups = new Map<string, Group>();
  let lastGroupId = 0;
  let lastEntry = 0;

  const rowOf = (group: Group): GroupRow => ({
    id: group.id,
    name: group.name,
    settings: structuredClone(group.settings),
    lastPosition: group.lastPosition,
    ...(group.replay === undefined ? {} : { replay: { ...group.replay } }),
  });

  const byId = (id: number): Group | undefined => [...groups.values()].find((group) => group.id === id);

  const addEntries = (group: Group, entries: EntryInput[], replay: boolean, now: number) => {
    for (const { position, stream } of entries) {
      const entry = ++lastEntry;
      group.entries.set(entry, { entry, position, stream, replay, attempt: 0, dueAt: now });
    }
  };

  const settled = (group: Group, entry: Entry, now: number) => {
    group.entries.delete(entry.entry);
    group.settles.push(now);
  };

  const park = (group: Group, entry: Entry, reason: string, now: number) => {
    group.parked.set(entry.position, { position: entry.position, stream: entry.stream, reason, attempts: entry.attempt, parkedAt: now });
    settled(group, entry, now);
  };

  const leased = (entry: Entry, now: number) => entry.consumer !== undefined && entry.leaseUntil! > now;

  /** Expired leases: parked when their next attempt would exceed `maxRetries + 1`, otherwise due again later. */
  const expire = (group: Group, now: number) => {
    for (const entry of group.entries.values()) {
      if (entry.consumer === undefined || entry.leaseUntil! > now) continue;
      if (entry.attempt >= group.settings.maxRetries + 1) {
        park(group, entry, `ack timeout after ${entry.attempt} attempts`, now);
        continue;
      }
      entry.dueAt = entry.leaseUntil! + retryDelay(group.settings, entry.attempt);
      delete entry.consumer;
      delete entry.leaseUntil;
    }
  };

  const pruneSettles = (group: Group, now: number) => {
    const since = now - minute;
    const first = group.settles.findIndex((at) => at > since);
    group.settles.splice(0, first === -1 ? group.settles.length : first);
  };

  const withGroup = <T>(id: number, missing: T, act: (group: Group, now: number) => T): T => {
    const group = byId(id);
    return group === undefined ? missing : act(group, Date.now());
  };

  const noSettles = (): SettleResult => ({ settled: [], alreadySettled: [], stale: [] });

  return {
    async create(name, settings, lastPosition) {
      const existing = groups.get(name);
      if (existing !== undefined) return { created: false, group: rowOf(existing) };
      const group: Group = {
        id: ++lastGroupId,
        name,
        settings: structuredClone(settings),
        lastPosition,
        entries: new Map(),
        parked: new Map(),
        consumers: new Map(),
        settles: [],
      };
      groups.set(name, group);
      return { created: true, group: rowOf(group) };
    },

    async get(name) {
      const group = groups.get(name);
      return group === undefined ? undefined : rowOf(group);
    },

    async list() {
      return [...groups.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map(rowOf);
    },

    async update(name, settings) {
      const group = groups.get(name);
      if (group === undefined) return undefined;
      group.settings = structuredClone(settings);
      return rowOf(group);
    },

    async delete(name) {
      return groups.delete(name);
    },

    async add(groupId, after, to, entries) {
      return withGroup(groupId, false, (group, now) => {
        if (group.lastPosition !== after) return false;
        addEntries(group, entries, false, now);
        group.lastPosition = to;
        return true;
      });
    },

    async startReplay(groupId, cursor) {
      return withGroup(groupId, false, (group) => {
        if (group.replay !== undefined) return false;
        group.replay = { ...cursor };
        return true;
      });
    },

    async addReplay(groupId, after, to, entries) {
      return withGroup(groupId, false, (group, now) => {
        if (group.replay === undefined || group.replay.next !== after) return false;
        addEntries(group, entries, true, now);
        if (to >= group.replay.to) delete group.replay;
        else group.replay.next = to;
        return true;
      });
    },

    async lease(groupId, consumer, max) {
      return withGroup(groupId, { leases: [] }, (group, now) => {
        group.consumers.set(consumer, now);
        if (group.settings.paused) return { leases: [] };
        expire(group, now);
        const { settings } = group;
        const held = [...group.entries.values()].filter((entry) => entry.consumer === consumer && leased(entry, now)).length;
        let room = Math.min(max, settings.maxInFlight - held);
        const firstOfStream = new Map<string, Entry>();
        for (const entry of group.entries.values()) if (!firstOfStream.has(entry.stream)) firstOfStream.set(entry.stream, entry);
        const candidates = [...group.entries.values()]
          .filter((entry) => entry.consumer === undefined && entry.dueAt <= now)
          .filter((entry) => settings.strategy !== 'pinned' || firstOfStream.get(entry.stream) === entry)
          .sort((a, b) => Number(b.attempt > 0) - Number(a.attempt > 0) || a.entry - b.entry);
        const leases: Lease[] = [];
        for (const entry of candidates) {
          if (room <= 0) break;
          const event = eventAt(entry.position);
          if (event === undefined) {
            settled(group, entry, now);
            continue;
          }
          entry.attempt += 1;
          entry.consumer = consumer;
          entry.leaseUntil = now + settings.ackTimeoutMs;
          leases.push({ entry: entry.entry, attempt: entry.attempt, replay: entry.replay, event });
          room -= 1;
        }
        if (leases.length > 0) return { leases };
        const times = [...group.entries.values()].map((entry) => (entry.consumer === undefined ? entry.dueAt : entry.leaseUntil!));
        const next = Math.min(...times.filter((at) => at > now));
        return Number.isFinite(next) ? { leases, nextDueInMs: next - now } : { leases };
      });
    },

    async settle(groupId, refs, action: SettleAction, reason) {
      return withGroup(groupId, noSettles(), (group, now) => {
        const result = noSettles();
        for (const ref of refs) {
          const entry = group.entries.get(ref.entry);
          if (entry === undefined) {
            result.alreadySettled.push(ref.id);
            continue;
          }
          if (action === 'retry') {
            if (entry.attempt !== ref.attempt || entry.consumer === undefined) {
              result.stale.push(ref.id);
              continue;
            }
            if (entry.attempt >= group.settings.maxRetries + 1) park(group, entry, reason ?? `failed ${entry.attempt} attempts`, now);
            else {
              entry.dueAt = now + retryDelay(group.settings, entry.attempt);
              delete entry.consumer;
              delete entry.leaseUntil;
            }
          } else if (action === 'park') park(group, entry, reason ?? 'parked by a consumer', now);
          else settled(group, entry, now);
          result.settled.push(ref.id);
        }
        return result;
      });
    },

    async extend(groupId, refs: DeliveryRef[], ms) {
      return withGroup(groupId, noSettles(), (group, now) => {
        const result = noSettles();
        for (const ref of refs) {
          const entry = group.entries.get(ref.entry);
          if (entry === undefined) result.alreadySettled.push(ref.id);
          else if (entry.attempt !== ref.attempt || !leased(entry, now)) result.stale.push(ref.id);
          else {
            entry.leaseUntil = now + ms;
            result.settled.push(ref.id);
          }
        }
        return result;
      });
    },

    async state(groupId): Promise<GroupState> {
      return withGroup(
        groupId,
        { checkpoint: 0n, pending: 0, inFlight: 0, parked: 0, consumers: [], settledLastMinute: 0 },
        (group, now) => {
          pruneSettles(group, now);
          const live = [...group.entries.values()].filter((entry) => !entry.replay);
          const lowest = live.reduce<Entry | undefined>(
            (low, entry) => (low === undefined || entry.position < low.position ? entry : low),
            undefined,
          );
          const inFlight = (consumer?: string) =>
            [...group.entries.values()].filter((entry) => leased(entry, now) && (consumer === undefined || entry.consumer === consumer))
              .length;
          const oldest = lowest === undefined ? undefined : eventAt(lowest.position)?.recordedAt;
          return {
            checkpoint: lowest === undefined ? group.lastPosition : lowest.position - 1n,
            pending: group.entries.size,
            inFlight: inFlight(),
            parked: group.parked.size,
            consumers: [...group.consumers.entries()]
              .filter(([, seen]) => now - seen < group.settings.consumerTimeoutMs)
              .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
              .map(([name, seen]) => ({ name, inFlight: inFlight(name), lastSeenAt: new Date(seen) })),
            settledLastMinute: group.settles.length,
            ...(oldest === undefined ? {} : { oldestUnsettledAt: oldest }),
          };
        },
      );
    },

    async pending(groupId) {
      return withGroup(groupId, 0, (group) => group.entries.size);
    },

    async parked(groupId, after, limit) {
      return withGroup(groupId, [] as ParkedEvent[], (group) =>
        [...group.parked.values()]
          .filter((parked) => parked.position > after)
          .sort((a, b) => (a.position < b.position ? -1 : 1))
          .slice(0, limit)
          .flatMap(({ position, reason, attempts, parkedAt }) => {
            const event = eventAt(position);
            return event === undefined ? [] : [{ event, reason, attempts, parkedAt: new Date(parkedAt) }];
          }),
      );
    },

    async replayParked(groupId, positions, limit) {
      return withGroup(groupId, 0, (group, now) => {
        const chosen = selectParked(group, positions, limit);
        for (const parked of chosen) group.parked.delete(parked.position);
        addEntries(group, chosen, true, now);
        return chosen.length;
      });
    },

    async deleteParked(groupId, positions, limit) {
      return withGroup(groupId, 0, (group) => {
        const chosen = selectParked(group, positions, limit);
        for (const parked of chosen) group.parked.delete(parked.position);
        return chosen.length;
      });
    },
  };
};

const selectParked = (group: Group, positions: bigint[] | undefined, limit: number): Parked[] =>
  (positions === undefined ? [...group.parked.values()] : positions.flatMap((position) => group.parked.get(position) ?? []))
    .sort((a, b) => (a.position < b.position ? -1 : a.position > b.position ? 1 : 0))
    .slice(0, limit);
