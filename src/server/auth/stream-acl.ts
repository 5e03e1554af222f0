/**
 * Stream ACLs: the `acl` of a stream's metadata narrows who may do what on that stream. When it lists
 * names for an operation, only tokens with one of those names or roles may do it (admins always may);
 * roles and prefixes still bound what a token may do at all. `$all` reads are governed by roles and
 * prefixes only.
 *
 * ACLs are read on the request path, so they are cached for a second: a change made through another
 * server takes up to that long to apply here; a change made through this one applies at once.
 */
import { AccessDeniedError } from '../../store/errors.js';
import type { EventStore } from '../../store/event-store.js';
import type { StreamMetadata } from '../../store/model.js';
import type { Principal } from './tokens.js';

export type AclOperation = keyof NonNullable<StreamMetadata['acl']>;

export interface StreamAcls {
  check(principal: Principal, stream: string, operation: AclOperation): Promise<void>;
  /** Drops what is cached for `stream`, after its metadata changed. */
  forget(stream: string): void;
}

const maxCached = 10_000;

export const createStreamAcls = (store: EventStore, ttlMs = 1000): StreamAcls => {
  const cache = new Map<string, { acl: StreamMetadata['acl']; until: number }>();

  const aclOf = async (stream: string) => {
    const now = Date.now();
    const cached = cache.get(stream);
    if (cached !== undefined && cached.until > now) return cached.acl;
    const { acl } = await store.getMetadata(stream);
    if (cache.size >= maxCached) cache.delete(cache.keys().next().value!);
    cache.set(stream, { acl, until: now + ttlMs });
    return acl;
  };

  return {
    async check(principal, stream, operation) {
      if (principal.role === 'admin') return;
      const allowed = (await aclOf(stream))?.[operation];
      if (allowed === undefined || allowed.includes(principal.name) || allowed.includes(principal.role)) return;
      throw new AccessDeniedError(`the acl of stream '${stream}' does not let token '${principal.name}' ${operation}`);
    },
    forget: (stream) => cache.delete(stream),
  };
};
