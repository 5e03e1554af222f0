/**
 * Stream ACLs: the `acl` of a stream's metadata narrows who may read the stream, append to it and read
 * its metadata, by token name or by role (admins always may). Reading is narrowed on every path: the
 * stream itself, and `$all` reads and subscriptions, which leave out the events of streams the caller
 * may not read.
 *
 * One index of the streams that have an ACL (`store.readAcls()`, which holds only those streams) answers
 * every check, so a check costs a map lookup whatever the number of streams without an ACL. It is loaded
 * at most once a second: a change made through another server takes up to that long to apply here; a
 * change made through this one applies at once. Because the index answers and not the stream, a caller
 * that an ACL refuses gets 403 whether the stream exists, was deleted or was tombstoned.
 */
import { AccessDeniedError } from '../store/errors.js';
import type { EventStore } from '../store/event-store.js';
import type { AclEntry, AclOperation, StreamAcl } from '../store/model.js';
import type { Principal } from './tokens.js';

export interface StreamAcls {
  check(principal: Principal, stream: string, operation: AclOperation): Promise<void>;
  /** Whether `principal` may read the events of a stream, by the ACLs known now. */
  readable(principal: Principal): Promise<(stream: string) => boolean>;
  /** Loads the index again on next use, after this server changed a stream's metadata. */
  forget(): void;
}

const everything = () => true;

const allows = (entry: AclEntry | undefined, principal: Principal): boolean =>
  principal.role === 'admin' ||
  entry === undefined ||
  entry.tokens?.includes(principal.name) === true ||
  entry.roles?.includes(principal.role) === true;

export const createStreamAcls = (store: EventStore, ttlMs = 1000): StreamAcls => {
  let index: { acls: Promise<Map<string, StreamAcl>>; until: number } | undefined;

  const acls = (): Promise<Map<string, StreamAcl>> => {
    const now = Date.now();
    if (index === undefined || index.until <= now) {
      const loading = store.readAcls();
      index = { acls: loading, until: now + ttlMs };
      // A failed load is not kept: the next check tries again.
      loading.catch(() => {
        if (index?.acls === loading) index = undefined;
      });
    }
    return index.acls;
  };

  return {
    async check(principal, stream, operation) {
      if (principal.role === 'admin') return;
      if (allows((await acls()).get(stream)?.[operation], principal)) return;
      throw new AccessDeniedError(
        `the acl of stream '${stream}' does not let token '${principal.name}' ${operation === 'write' ? 'append' : operation === 'read' ? 'read' : 'read metadata'}`,
      );
    },
    async readable(principal) {
      if (principal.role === 'admin') return everything;
      const known = await acls();
      if (known.size === 0) return everything;
      return (stream) => allows(known.get(stream)?.read, principal);
    },
    forget() {
      index = undefined;
    },
  };
};
