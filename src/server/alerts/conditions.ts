/**
 * The conditions the Prometheus rules of deploy/prometheus alert on, as the server sees them itself, for
 * small setups without Prometheus (`--alert-webhook`): read-only, consumer groups behind or with parked
 * events, projections failed or without a runner, a replica behind. Names and thresholds follow the rules.
 */
import type { Groups } from '../../bus/groups/model.js';
import type { Projections } from '../../projection/registry/model.js';
import type { ReplicaStatus } from '../../store/follow-store.js';
import type { WriteGate } from '../write-gate.js';

export interface Condition {
  alert: string;
  labels: Record<string, string>;
  summary: string;
}

export interface ConditionSources {
  writeGate: WriteGate;
  replica: () => ReplicaStatus | undefined;
  groups: Groups;
  projections: Projections;
}

const groupLagSeconds = 300;
const replicaLagSeconds = 30;
const runnerSilentSeconds = 60;

export const currentConditions = async ({ writeGate, replica, groups, projections }: ConditionSources): Promise<Condition[]> => {
  const conditions: Condition[] = [];
  const readOnly = writeGate.readOnly;
  // A replica is read-only by design; its lag is what to watch.
  if (readOnly !== undefined && readOnly.reason !== 'replica') {
    conditions.push({
      alert: 'AnnalsReadOnly',
      labels: { reason: readOnly.reason },
      summary: `the server refuses writes (${readOnly.reason})`,
    });
  }
  const lagSeconds = replica()?.lagSeconds ?? 0;
  if (lagSeconds > replicaLagSeconds) {
    conditions.push({ alert: 'AnnalsReplicaLag', labels: {}, summary: `this replica is ${Math.round(lagSeconds)} s behind its primary` });
  }
  // Groups and projections are not replicated: a replica has none of its own to watch.
  if (replica() !== undefined) return conditions;
  for (const group of await groups.list()) {
    if (group.lag.seconds > groupLagSeconds) {
      conditions.push({
        alert: 'AnnalsConsumerGroupLag',
        labels: { group: group.name },
        summary: `consumer group ${group.name} is ${Math.round(group.lag.seconds)} s behind`,
      });
    }
    if (group.parked > 0) {
      conditions.push({
        alert: 'AnnalsParkedEvents',
        labels: { group: group.name },
        summary: `consumer group ${group.name} parked ${group.parked} events; replay them once fixed`,
      });
    }
  }
  for (const projection of await projections.list()) {
    if (projection.state === 'failed') {
      conditions.push({
        alert: 'AnnalsProjectionFailed',
        labels: { projection: projection.name },
        summary: `projection ${projection.name} failed`,
      });
    }
    const silentSeconds = (Date.now() - projection.heartbeatAt.getTime()) / 1000;
    if (silentSeconds > runnerSilentSeconds) {
      conditions.push({
        alert: 'AnnalsProjectionRunnerGone',
        labels: { projection: projection.name },
        summary: `no runner of projection ${projection.name} has reported for ${Math.round(silentSeconds)} s`,
      });
    }
  }
  return conditions;
};
