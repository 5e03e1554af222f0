/**
 * A server that is a replica (`annals serve --replica-of URL`, DESIGN.md section 11): it follows its
 * primary's log into its own store (store/follow-store.ts), serves reads and subscriptions, and refuses
 * writes as read-only with reason `replica`. Consumer groups, snapshots and the projection registry are
 * not replicated, so their routes answer `unavailable` instead of a state that is not the primary's.
 * The operator promotes it: following stops, the store starts a new epoch, and writes are taken.
 */
import type { FastifyBaseLogger } from 'fastify';
import { ConflictError, UnavailableError } from '../store/errors.js';
import type { EventStore } from '../store/event-store.js';
import { followStore, type ReplicaStatus } from '../store/follow-store.js';
import type { StoreIdentity } from '../store/model.js';
import type { WriteGate } from './write-gate.js';

export interface ReplicaOptions {
  /** A client of the primary, with an admin token for every stream; closed with the server. */
  source: EventStore;
  /** The primary's URL, as health and errors show it. */
  primary: string;
}

export interface ReplicaInfo extends ReplicaStatus {
  primary: string;
  /** When the operator promoted this server; it follows nothing since. */
  promotedAt?: Date;
}

export interface Replica {
  info(): ReplicaInfo;
  /** Throws `unavailable` for a route whose state is not replicated, while this server is a replica. */
  checkReplicated(url: string): void;
  promote(): Promise<StoreIdentity>;
  close(): Promise<void>;
}

const notReplicated = /^\/(groups|snapshots|projections)(\/|$)/;

export const startReplica = (
  { source, primary }: ReplicaOptions,
  { store, writeGate, log }: { store: EventStore; writeGate: WriteGate; log: FastifyBaseLogger },
): Replica => {
  const follower = followStore({
    source,
    target: store,
    onError: (error, stopped) => {
      if (stopped) log.error({ err: error, primary }, 'replica stopped following its primary: it holds another log');
      else log.warn({ err: error, primary }, 'replica lost its primary; following again shortly');
    },
  });
  let promotedAt: Date | undefined;
  return {
    info: () => ({ ...follower.status(), primary, ...(promotedAt === undefined ? {} : { promotedAt }) }),
    checkReplicated(url) {
      if (promotedAt === undefined && notReplicated.test(url)) {
        throw new UnavailableError(`this server is a replica: consumer groups, snapshots and projections live on its primary, ${primary}`, {
          reason: 'replica',
        });
      }
    },
    async promote() {
      if (promotedAt !== undefined) throw new ConflictError(`this server was promoted at ${promotedAt.toISOString()}`);
      await follower.stop();
      const identity = await store.startEpoch();
      promotedAt = new Date();
      writeGate.promote();
      log.warn({ primary, epoch: identity.epoch, epochStart: String(identity.epochStart) }, 'promoted: this server takes writes now');
      return identity;
    },
    async close() {
      await follower.stop();
      await source.close();
    },
  };
};
