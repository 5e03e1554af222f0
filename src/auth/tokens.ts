/**
 * Bearer tokens: where they come from (a JSON file, the `ANNALS_TOKENS` environment variable, or an admin
 * token created on first start) and how a presented token is recognised. Tokens are kept only as SHA-256
 * digests in memory and compared in constant time, so neither a timing nor a memory dump gives one away.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { InvalidArgumentError, UnauthenticatedError } from '../store/errors.js';

import { roles, type Role } from '../store/model.js';

const TokenEntry = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100 }),
    role: Type.Union(roles.map((role) => Type.Literal(role))),
    /** Stream name prefixes the token may touch; absent means every stream. */
    streams: Type.Optional(Type.Array(Type.String(), { minItems: 1, maxItems: 100 })),
    /** The token itself, or its SHA-256 digest in hex: one of the two. */
    token: Type.Optional(Type.String({ minLength: 16, maxLength: 512 })),
    sha256: Type.Optional(Type.String({ pattern: '^[0-9a-f]{64}$' })),
  },
  { additionalProperties: false },
);
const TokenFile = Type.Object({ tokens: Type.Array(TokenEntry) }, { additionalProperties: false });
export type TokenEntry = Static<typeof TokenEntry>;

/** Who made a request: the token's name, its role and the stream prefixes it is limited to. */
export interface Principal {
  name: string;
  role: Role;
  /** `undefined`: every stream. */
  streams: string[] | undefined;
}

export interface Authenticator {
  /** The principal of an `Authorization` header; `unauthenticated` when it names no known token. */
  authenticate(header: string | undefined): Principal;
}

const digest = (token: string) => createHash('sha256').update(token).digest();

/** A token entry and where it came from, to name it in messages without its secret. */
interface SourcedEntry {
  entry: TokenEntry;
  where: string;
}

/**
 * Refuses token configurations that do not say one thing: the same secret twice (which role would it
 * have?), the same name twice (ACLs name tokens), an empty prefix (it would mean every stream: leave
 * `streams` out instead) or a prefix listed twice.
 */
const checkUnambiguous = (entries: SourcedEntry[]): void => {
  const bySecret = new Map<string, SourcedEntry>();
  const byName = new Map<string, SourcedEntry>();
  for (const sourced of entries) {
    const { entry, where } = sourced;
    const secret = entry.sha256 ?? digest(entry.token!).toString('hex');
    const sameSecret = bySecret.get(secret);
    if (sameSecret !== undefined) throw new Error(`${where} has the same secret as ${sameSecret.where}: give each token its own`);
    bySecret.set(secret, sourced);
    const sameName = byName.get(entry.name);
    if (sameName !== undefined) throw new Error(`${where} has the same name as ${sameName.where}: names identify tokens in stream ACLs`);
    byName.set(entry.name, sourced);
    const prefixes = entry.streams ?? [];
    if (prefixes.includes('')) throw new Error(`${where} lists an empty prefix in 'streams': to allow every stream, leave 'streams' out`);
    const repeated = prefixes.find((prefix, index) => prefixes.indexOf(prefix) !== index);
    if (repeated !== undefined) throw new Error(`${where} lists the prefix '${repeated}' twice in 'streams'`);
  }
};

const parseTokens = (text: string, source: string): TokenEntry[] => {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new Error(`${source} is not JSON: ${(error as Error).message}`, { cause: error });
  }
  const file = Array.isArray(parsed) ? { tokens: parsed } : parsed;
  const problem = Value.Errors(TokenFile, file).First();
  if (problem) throw new Error(`${source}: ${problem.path || '/'} ${problem.message}`);
  const { tokens } = file as Static<typeof TokenFile>;
  for (const entry of tokens) {
    if ((entry.token === undefined) === (entry.sha256 === undefined)) {
      throw new Error(`${source}: token '${entry.name}' needs exactly one of 'token' and 'sha256'`);
    }
  }
  return tokens;
};

export const createAuthenticator = (entries: TokenEntry[]): Authenticator => {
  const known = entries.map((entry) => ({
    digest: entry.sha256 === undefined ? digest(entry.token!) : Buffer.from(entry.sha256, 'hex'),
    principal: { name: entry.name, role: entry.role, streams: entry.streams } satisfies Principal,
  }));
  return {
    authenticate(header) {
      const match = header?.match(/^Bearer\s+(\S+)\s*$/i);
      if (!match) throw new UnauthenticatedError('send a token as Authorization: Bearer <token>');
      const presented = digest(match[1]!);
      let found: Principal | undefined;
      // Every digest is compared, so the time taken does not tell which entry matched.
      for (const entry of known) if (timingSafeEqual(entry.digest, presented)) found = entry.principal;
      if (found === undefined) throw new UnauthenticatedError('the token is not valid');
      return found;
    },
  };
};

/**
 * A new token and its entry for a token file: the file keeps only the SHA-256 digest, so whoever reads it
 * cannot call the server; the token itself goes to its user, once.
 */
export const newToken = (principal: { name: string; role: Role; streams?: string[] | undefined }): { token: string; entry: TokenEntry } => {
  const token = randomBytes(32).toString('base64url');
  const entry: TokenEntry = {
    name: principal.name,
    role: principal.role,
    ...(principal.streams === undefined ? {} : { streams: principal.streams }),
    sha256: digest(token).toString('hex'),
  };
  const problem = Value.Errors(TokenEntry, entry).First();
  if (problem) throw new InvalidArgumentError(`the token entry is not valid: ${problem.path} ${problem.message}`);
  checkUnambiguous([{ entry, where: `token '${entry.name}'` }]);
  return { token, entry };
};

export interface TokenSources {
  /** A token file given by the operator; it must exist. */
  file?: string;
  /** The value of `ANNALS_TOKENS`: the same JSON as a file. */
  env?: string;
  /** Where the first-start admin token is written when no token is configured anywhere. */
  dataDir: string;
}

/**
 * The configured tokens. With none configured, a first start creates `<dataDir>/tokens.json` holding one
 * admin token (readable by its owner only) and reports it in `created`, so that the server is never open
 * by accident.
 */
export const loadTokens = ({ file, env, dataDir }: TokenSources): { entries: TokenEntry[]; created?: string } => {
  const sourced: SourcedEntry[] = [];
  const add = (source: string, parsed: TokenEntry[]) =>
    parsed.forEach((entry, index) => sourced.push({ entry, where: `${source}: token '${entry.name}' (entry ${index})` }));
  if (env !== undefined && env.trim() !== '') add('ANNALS_TOKENS', parseTokens(env, 'ANNALS_TOKENS'));
  const path = resolve(file ?? `${dataDir}/tokens.json`);
  if (file !== undefined || existsSync(path)) add(path, parseTokens(readFileSync(path, 'utf8'), path));
  checkUnambiguous(sourced);
  if (sourced.length > 0) return { entries: sourced.map(({ entry }) => entry) };

  const admin: TokenEntry = { name: 'admin', role: 'admin', token: randomBytes(32).toString('base64url') };
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(path, `${JSON.stringify({ tokens: [admin] }, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  return { entries: [admin], created: path };
};
