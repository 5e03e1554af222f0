/**
 * What a principal may do. Roles grow: a reader reads and subscribes, a writer also appends, an admin also
 * deletes and writes metadata. A token limited to stream prefixes touches only streams whose names start
 * with one of them, its `$all` reads are narrowed to those prefixes, and it may not see what speaks of the
 * whole server (statistics, metrics), which any unlimited token may.
 */
import { AccessDeniedError } from '../store/errors.js';
import type { AllFilter } from '../store/model.js';
import { roles, type Role } from '../store/model.js';
import type { Principal } from './tokens.js';

/** What a route needs: no token at all, a role, or an unrestricted token of any role. */
export type Access = 'public' | Role | 'server';

const rank = (role: Role) => roles.indexOf(role);

export const covers = (principal: Principal, stream: string): boolean =>
  principal.streams === undefined || principal.streams.some((prefix) => stream.startsWith(prefix));

export const checkAccess = (principal: Principal, access: Exclude<Access, 'public'>, stream?: string): void => {
  if (access === 'server') {
    if (principal.streams !== undefined) throw new AccessDeniedError(`token '${principal.name}' is limited to some streams`);
    return;
  }
  if (rank(principal.role) < rank(access)) {
    throw new AccessDeniedError(`token '${principal.name}' has role ${principal.role}; this needs ${access}`);
  }
  if (stream !== undefined && !covers(principal, stream)) {
    throw new AccessDeniedError(`token '${principal.name}' may not touch stream '${stream}'`);
  }
};

/**
 * The prefix to list streams by: the one asked, or the token's own when it has one prefix within the one
 * asked, so that a limited token's listing reads only its streams. What is listed is still checked.
 */
export const narrowPrefix = (principal: Principal, asked: string | undefined): string | undefined => {
  const own = principal.streams;
  if (own?.length !== 1 || (asked !== undefined && !own[0]!.startsWith(asked))) return asked;
  return own[0];
};

/** The filter of a `$all` read or subscription, narrowed to what the principal may see. */
export const narrowFilter = (principal: Principal, filter: AllFilter | undefined): AllFilter | undefined => {
  const allowed = principal.streams;
  if (allowed === undefined) return filter;
  const asked = filter?.streams;
  if (asked === undefined) return { ...filter, streams: allowed };
  const outside = asked.find((prefix) => !allowed.some((own) => prefix.startsWith(own)));
  if (outside !== undefined) throw new AccessDeniedError(`token '${principal.name}' may not read streams '${outside}…'`);
  return filter;
};
