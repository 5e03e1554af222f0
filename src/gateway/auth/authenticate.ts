/**
 * Who calls through the gateway: an Annals token (checked as `annals serve` checks it, by src/auth/tokens)
 * or a JWT verified against an identity provider's JWKS with jose. The `Authorization` header is forwarded
 * unchanged, so that upstreams may check it again.
 */
import { createRemoteJWKSet, errors, jwtVerify } from 'jose';
import { createAuthenticator, loadTokens } from '../../auth/tokens.js';
import { UnauthenticatedError, UnavailableError } from '../../store/errors.js';
import type { GatewayConfig } from '../config/config.js';

export type Scheme = 'annals' | 'jwt' | 'none';

/** The caller's name (the token's name, or the JWT's `sub`); `undefined` on routes without auth. */
export type Authenticate = (scheme: Scheme, header: string | undefined) => Promise<string | undefined>;

export const createAuthenticate = (auth: GatewayConfig['auth']): Authenticate => {
  const tokens = auth?.tokens === undefined ? undefined : createAuthenticator(loadTokens({ file: auth.tokens, dataDir: '.' }).entries);
  const jwt = auth?.jwt;
  const keys = jwt === undefined ? undefined : createRemoteJWKSet(new URL(jwt.jwksUrl));
  return async (scheme, header) => {
    if (scheme === 'none') return undefined;
    if (scheme === 'annals') return tokens!.authenticate(header).name;
    const match = header?.match(/^Bearer\s+(\S+)\s*$/i);
    if (!match) throw new UnauthenticatedError('send a JWT as Authorization: Bearer <token>');
    let sub: unknown;
    try {
      ({ sub } = (await jwtVerify(match[1]!, keys!, { issuer: jwt!.issuer, audience: jwt!.audience })).payload);
    } catch (error) {
      // Keys that cannot be fetched say nothing of the token: the caller may retry, so 503, not 401.
      if (error instanceof errors.JWKSTimeout || !(error instanceof errors.JOSEError)) {
        throw new UnavailableError(`the identity provider's keys could not be fetched: ${(error as Error).message}`, { cause: error });
      }
      throw new UnauthenticatedError(`the JWT is not valid: ${error.message}`);
    }
    if (typeof sub !== 'string' || sub === '') throw new UnauthenticatedError("the JWT has no 'sub' claim to name the caller");
    return sub;
  };
};
