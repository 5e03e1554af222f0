/**
 * The one wrapper that turns a groups core into `store.groups`: every argument checked by validate.ts
 * before the core sees it, and the consumer helper on top. The embedded store (over an engine) and the
 * client (over HTTP) each bring a core of their own, so a call is checked in one place whichever way it
 * is made. Upcasters, when given, are applied here to what is delivered and to parked events.
 */
import type { AllFilter, RecordedEvent } from '../../store/model.js';
import { keptBy, upcastEvent, widenFilter, type Upcasters } from '../../store/upcasting.js';
import type { SettleAction } from './engine.js';
import { consumeGroup } from './consume.js';
import type { Delivery, GroupInfo, GroupSettings, Groups, ParkedPage, SettleResult } from './model.js';
import {
  checkDeliveryIds,
  checkExtendMs,
  checkGroupName,
  checkGroupSettings,
  checkNackOptions,
  checkParkedQuery,
  checkParkedSelection,
  checkPullOptions,
  checkReplayOptions,
  type CheckedSettings,
  type PullQuery,
  type ReplayQuery,
} from './validate.js';

/** What `store.groups` does once its arguments are checked. */
export interface GroupsCore {
  create(name: string, settings: CheckedSettings): Promise<{ created: boolean; settings: GroupSettings }>;
  update(name: string, patch: CheckedSettings): Promise<GroupSettings>;
  delete(name: string): Promise<void>;
  list(): Promise<GroupInfo[]>;
  info(name: string): Promise<GroupInfo>;
  /** Resolves with what it has (maybe nothing) when `signal` aborts. */
  pull(name: string, query: PullQuery, signal: AbortSignal | undefined): Promise<Delivery[]>;
  settle(name: string, ids: string[], action: SettleAction, reason: string | undefined): Promise<SettleResult>;
  extend(name: string, ids: string[], ms: number): Promise<SettleResult>;
  parked(name: string, query: { after: bigint; limit: number }): Promise<ParkedPage>;
  replayParked(name: string, selection: { ids?: bigint[]; limit: number }): Promise<{ replayed: number }>;
  deleteParked(name: string, selection: { ids?: bigint[]; limit: number }): Promise<{ deleted: number }>;
  replay(name: string, query: ReplayQuery): Promise<{ from: bigint; to: bigint }>;
}

export const wrapGroups = (core: GroupsCore, open: () => void, upcasters?: Upcasters): Groups => {
  /** A source filter's types widened, as the store widens a read's (upcasting.ts): the group stores them so. */
  const widened = (settings: CheckedSettings): CheckedSettings =>
    upcasters === undefined || settings.source === undefined || !('filter' in settings.source)
      ? settings
      : { ...settings, source: { filter: widenFilter(upcasters, settings.source.filter)! } };

  /**
   * The types a group keeps, by name: a source is fixed at creation, so it is asked for once (and again
   * after this store deletes or creates the group).
   */
  const keptTypes = new Map<string, Promise<AllFilter | undefined>>();
  const keptTypesOf = (name: string) => {
    let types = keptTypes.get(name);
    if (types === undefined) {
      types = core.info(name).then(({ settings: { source } }) => ('filter' in source ? source.filter : undefined));
      types.catch(() => keptTypes.delete(name));
      keptTypes.set(name, types);
    }
    return types;
  };

  /**
   * Deliveries upcast. A group with a type filter reads the widened types, so an event that upcasts to a
   * type it does not keep is acked here, unseen, as a read drops it. An event whose upcaster fails is
   * parked with the error as its reason: upcasters do the same every time, so a retry would fail again,
   * and one bad event must not hold up the others nor stop a consumer.
   */
  const upcastDeliveries = async (name: string, deliveries: Delivery[], upcasters: Upcasters) => {
    const filter = await keptTypesOf(name);
    const kept: Delivery[] = [];
    const unwanted: string[] = [];
    for (const delivery of deliveries) {
      let event;
      try {
        event = upcastEvent(upcasters, delivery.event);
      } catch (error) {
        // A reason holds at most 1,024 UTF-8 bytes: 340 UTF-16 units never take more.
        const message = error instanceof Error ? error.message : String(error);
        const reason = message.length > 340 ? `${message.slice(0, 337)}...` : message;
        await core.settle(name, [delivery.id], 'park', reason);
        continue;
      }
      if (keptBy(filter, event)) kept.push({ ...delivery, event });
      else unwanted.push(delivery.id);
    }
    if (unwanted.length > 0) await core.settle(name, unwanted, 'ack', undefined);
    return kept;
  };

  const groups: Groups = {
    async create(name, settings) {
      open();
      const group = checkGroupName(name);
      keptTypes.delete(group);
      return core.create(group, widened(checkGroupSettings(settings)));
    },
    async update(name, patch) {
      open();
      return core.update(checkGroupName(name), widened(checkGroupSettings(patch, 'patch')));
    },
    async delete(name) {
      open();
      const group = checkGroupName(name);
      keptTypes.delete(group);
      return core.delete(group);
    },
    async list() {
      open();
      return core.list();
    },
    async info(name) {
      open();
      return core.info(checkGroupName(name));
    },
    async pull(name, options) {
      open();
      const { signal, ...query } = checkPullOptions(options);
      const group = checkGroupName(name);
      const deliveries = await core.pull(group, query, signal);
      return upcasters === undefined || deliveries.length === 0 ? deliveries : upcastDeliveries(group, deliveries, upcasters);
    },
    async ack(name, ids) {
      open();
      return core.settle(checkGroupName(name), checkDeliveryIds(ids), 'ack', undefined);
    },
    async nack(name, ids, options) {
      open();
      const { action, reason } = checkNackOptions(options);
      return core.settle(checkGroupName(name), checkDeliveryIds(ids), action, reason);
    },
    async extend(name, ids, ms) {
      open();
      return core.extend(checkGroupName(name), checkDeliveryIds(ids), checkExtendMs(ms));
    },
    async parked(name, query) {
      open();
      const page = await core.parked(checkGroupName(name), checkParkedQuery(query));
      if (upcasters === undefined) return page;
      // A parked event whose upcaster fails is shown as stored: its reason says why, and it must stay inspectable.
      const shown = (event: RecordedEvent) => {
        try {
          return upcastEvent(upcasters, event);
        } catch {
          return event;
        }
      };
      return { ...page, parked: page.parked.map((parked) => ({ ...parked, event: shown(parked.event) })) };
    },
    async replayParked(name, selection) {
      open();
      return core.replayParked(checkGroupName(name), checkParkedSelection(selection));
    },
    async deleteParked(name, selection) {
      open();
      return core.deleteParked(checkGroupName(name), checkParkedSelection(selection));
    },
    async replay(name, options) {
      open();
      return core.replay(checkGroupName(name), checkReplayOptions(options));
    },
    consume(name, handler, options) {
      open();
      return consumeGroup(groups, name, handler, options);
    },
  };
  return groups;
};
