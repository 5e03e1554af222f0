/**
 * Consumer groups of a remote server: the `GroupsCore` that `wrapGroups` turns into `store.groups`, so
 * arguments are checked here with the embedded store's own rules and `consume` is the same helper. Pulls
 * are long polls: they go on the pool of long responses, so that they never hold up short calls, and a
 * pull whose signal aborts cancels its request and resolves with nothing.
 */
import type { SettleAction } from '../bus/groups/engine.js';
import type { SettleResult } from '../bus/groups/model.js';
import type { CheckedSettings } from '../bus/groups/validate.js';
import type { GroupsCore } from '../bus/groups/wrap-groups.js';
import {
  deliveryFromJson,
  groupInfoFromJson,
  groupSettingsFromJson,
  groupSettingsInputToJson,
  parkedPageFromJson,
  type DeliveryJson,
  type GroupInfoJson,
  type GroupSettingsJson,
  type ParkedPageJson,
} from '../protocol/wire.js';
import type { Transport } from './transport.js';

const groupPath = (name: string) => `/groups/${encodeURIComponent(name)}`;

const settingsBody = (settings: CheckedSettings) => JSON.stringify(groupSettingsInputToJson(settings));

const selectionBody = ({ ids, limit }: { ids?: bigint[]; limit: number }) =>
  JSON.stringify(ids === undefined ? { limit } : { ids: ids.map(String) });

export const remoteGroups = (transport: Transport): GroupsCore => ({
  async create(name, settings) {
    // `update=false`: settings that differ from an existing group's are a conflict, as on the embedded store.
    const answer = await transport.call<{ created: boolean; settings: GroupSettingsJson }>({
      method: 'PUT',
      path: `${groupPath(name)}?update=false`,
      body: settingsBody(settings),
    });
    return { created: answer.created, settings: groupSettingsFromJson(answer.settings) };
  },
  async update(name, patch) {
    return groupSettingsFromJson(
      await transport.call<GroupSettingsJson>({ method: 'PATCH', path: groupPath(name), body: settingsBody(patch) }),
    );
  },
  async delete(name) {
    await transport.call({ method: 'DELETE', path: groupPath(name) });
  },
  async list() {
    return (await transport.call<{ groups: GroupInfoJson[] }>({ method: 'GET', path: '/groups' })).groups.map(groupInfoFromJson);
  },
  async info(name) {
    return groupInfoFromJson(await transport.call<GroupInfoJson>({ method: 'GET', path: groupPath(name) }));
  },
  async pull(name, query, signal) {
    if (signal?.aborted) return [];
    try {
      const answer = await transport.call<{ deliveries: DeliveryJson[] }>({
        method: 'POST',
        path: `${groupPath(name)}/pull`,
        body: JSON.stringify(query),
        signal,
        long: true,
      });
      return answer.deliveries.map(deliveryFromJson);
    } catch (error) {
      if (signal?.aborted) return [];
      throw error;
    }
  },
  async settle(name, ids, action: SettleAction, reason) {
    const [path, body] = action === 'ack' ? ['ack', { ids }] : ['nack', { ids, action, ...(reason === undefined ? {} : { reason }) }];
    return transport.call<SettleResult>({ method: 'POST', path: `${groupPath(name)}/${path}`, body: JSON.stringify(body) });
  },
  async extend(name, ids, ms) {
    return transport.call<SettleResult>({ method: 'POST', path: `${groupPath(name)}/extend`, body: JSON.stringify({ ids, ms }) });
  },
  async parked(name, { after, limit }) {
    const page = await transport.call<ParkedPageJson>({ method: 'GET', path: `${groupPath(name)}/parked?after=${after}&limit=${limit}` });
    return parkedPageFromJson(page);
  },
  async replayParked(name, selection) {
    return transport.call<{ replayed: number }>({
      method: 'POST',
      path: `${groupPath(name)}/parked/replay`,
      body: selectionBody(selection),
    });
  },
  async deleteParked(name, selection) {
    return transport.call<{ deleted: number }>({ method: 'DELETE', path: `${groupPath(name)}/parked`, body: selectionBody(selection) });
  },
  async replay(name, { from, to, stream, category }) {
    const body = {
      from: String(from),
      ...(to === undefined ? {} : { to: String(to) }),
      ...(stream === undefined ? {} : { stream }),
      ...(category === undefined ? {} : { category }),
    };
    const answer = await transport.call<{ from: string; to: string }>({
      method: 'POST',
      path: `${groupPath(name)}/replay`,
      body: JSON.stringify(body),
    });
    return { from: BigInt(answer.from), to: BigInt(answer.to) };
  },
});
