/**
 * The one wrapper that turns a groups core into `store.groups`: every argument checked by validate.ts
 * before the core sees it, and the consumer helper on top. The embedded store (over an engine) and the
 * client (over HTTP) each bring a core of their own, so a call is checked in one place whichever way it
 * is made.
 */
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

export const wrapGroups = (core: GroupsCore, open: () => void): Groups => {
  const groups: Groups = {
    async create(name, settings) {
      open();
      return core.create(checkGroupName(name), checkGroupSettings(settings));
    },
    async update(name, patch) {
      open();
      return core.update(checkGroupName(name), checkGroupSettings(patch, 'patch'));
    },
    async delete(name) {
      open();
      return core.delete(checkGroupName(name));
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
      return core.pull(checkGroupName(name), query, signal);
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
      return core.parked(checkGroupName(name), checkParkedQuery(query));
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
