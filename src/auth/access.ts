/**
 * What a principal may do. Roles grow: a reader reads and subscribes, a writer also appends, an admin also
 * deletes and writes metadata. A token limited to stream prefixes touches only streams whose names start
 * with one of them, its `$all` reads are narrowed to those prefixes, and it may not see what speaks of the
 * whole server (statistics, metrics), which any unlimited token may.
 */
import { AccessDeniedError } from '../store/errors.js';
import type { GroupSettings } from '../bus/groups/model.js';
import type { AllFilter } from '../store/model.js';
import { roles, subjectOf, type Role } from '../store/model.js';
import type { Principal } from './tokens.js';

/** What a route needs: no token at all, a role, or an unrestricted token of any role. */
export type Access = 'public' | Role | 'server';

const rank = (role: Role) => roles.indexOf(role);

/** Whether the token's prefixes cover `stream`; the system stream `$$S` is covered when S is. */
export const covers = (principal: Principal, stream: string): boolean => {
  if (principal.streams === undefined) return true;
  const subject = subjectOf(stream);
  return principal.streams.some((prefix) => subject.startsWith(prefix));
};

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
  // With system events asked for, the `$$` streams of the token's streams are within its prefixes too.
  if (asked === undefined)
    return { ...filter, streams: filter?.includeSystem ? [...allowed, ...allowed.map((own) => `$$${own}`)] : allowed };
  const outside = asked.find((prefix) => !allowed.some((own) => subjectOf(prefix).startsWith(own)));
  if (outside !== undefined) throw new AccessDeniedError(`token '${principal.name}' may not read streams '${outside}…'`);
  return filter;
};

/** Whether every stream name that starts with `prefix` also starts with one of `own`. */
const within = (prefix: string, own: string[]) => own.some((mine) => prefix.startsWith(mine));

/**
 * Whether a principal may consume a group (pull, settle, push) or see it: a token without prefixes covers
 * every group; one with prefixes covers a group confined to a scope within them, or whose source names
 * only streams within them (a stream, a category whose every stream starts with one of them, or a filter
 * of such prefixes).
 */
export const coversGroup = (principal: Principal, settings: Pick<GroupSettings, 'source' | 'scope'>): boolean => {
  const own = principal.streams;
  if (own === undefined) return true;
  if (settings.scope !== undefined && settings.scope.every((prefix) => within(prefix, own))) return true;
  const { source } = settings;
  if ('stream' in source) return within(source.stream, own);
  if ('category' in source) return within(source.category, own);
  if ('filter' in source) {
    const { streams, category } = source.filter;
    if (streams !== undefined && streams.every((prefix) => within(prefix, own))) return true;
    return category !== undefined && within(category, own);
  }
  return false;
};

/**
 * The scope of a group created by `principal`: its prefixes (or the narrower scope it asks for, which
 * must lie within them); for a token without prefixes, what it asks for.
 */
export const scopeOfNewGroup = (principal: Principal, asked: string[] | undefined): string[] | undefined => {
  const own = principal.streams;
  if (own === undefined) return asked;
  if (asked === undefined) return own;
  const outside = asked.find((prefix) => !within(prefix, own));
  if (outside !== undefined) {
    throw new AccessDeniedError(
      `token '${principal.name}' may not create a group over streams '${outside}…' (scope); allowed: within ${own.join(', ')}`,
    );
  }
  return asked;
};
