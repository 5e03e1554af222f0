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
import { metadataEventType, subjectOf, type AclEntry, type AclOperation, type StreamAcl } from '../store/model.js';
import type { Principal } from './tokens.js';

export interface StreamAcls {
  check(principal: Principal, stream: string, operation: AclOperation): Promise<void>;
  /**
   * Whether `principal` may read the events of a stream (of this type, when given), by the ACLs known now.
   * The events of a system stream `$$S` follow S's ACL: readable with `read` on S, and a `$metadata` event
   * only with `metaRead` on S as well (without it the event is left out entirely).
   */
  readable(principal: Principal): Promise<(stream: string, type?: string) => boolean>;
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
      // `$$S` is governed by S: reading it needs `read` on S (its `$metadata` events are filtered per event).
      if (allows((await acls()).get(subjectOf(stream))?.[operation], principal)) return;
      throw new AccessDeniedError(
        `the acl of stream '${stream}' does not let token '${principal.name}' ${operation === 'write' ? 'append' : operation === 'read' ? 'read' : 'read metadata'}`,
      );
    },
    async readable(principal) {
      if (principal.role === 'admin') return everything;
      const known = await acls();
      if (known.size === 0) return everything;
      return (stream, type) => {
        const acl = known.get(subjectOf(stream));
        if (!allows(acl?.read, principal)) return false;
        return type !== metadataEventType || !stream.startsWith('$$') || allows(acl?.metaRead, principal);
      };
    },
    forget() {
      index = undefined;
    },
  };
};
