/**
 * The gateway's configuration: a JSON file checked against a TypeBox schema. A bad file is refused with
 * one sentence naming the field, what was given and what is allowed.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

const Url = Type.String({ pattern: '^https?://[^\\s/]+(/\\S*)?$', description: 'an http:// or https:// URL' });
const Millis = Type.Integer({ minimum: 1, maximum: 3_600_000 });

const Route = Type.Object(
  {
    prefix: Type.String({ pattern: '^/[^\\s?#]*$', description: "a path starting with '/'" }),
    upstreams: Type.Array(Url, { minItems: 1, maxItems: 100 }),
    auth: Type.Optional(Type.Union([Type.Literal('annals'), Type.Literal('jwt'), Type.Literal('none')])),
    timeoutMs: Type.Optional(Millis),
    /** What the prefix becomes upstream; absent keeps the path as it came. */
    rewritePrefix: Type.Optional(Type.String({ pattern: '^(/[^\\s?#]*)?$', description: "'' or a path starting with '/'" })),
    /** Requests in flight to one instance beyond which the gateway sheds load (503) rather than queue. */
    maxInFlight: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000 })),
    /** A path whose 2xx says an instance takes writes (an Annals server's `/health/writable`); writes go only there. */
    writablePath: Type.Optional(Type.String({ pattern: '^/', description: "a path starting with '/'" })),
  },
  { additionalProperties: false },
);

export const GatewayConfigSchema = Type.Object(
  {
    listen: Type.Object(
      { host: Type.Optional(Type.String({ minLength: 1 })), port: Type.Integer({ minimum: 0, maximum: 65535 }) },
      { additionalProperties: false },
    ),
    routes: Type.Array(Route, { minItems: 1 }),
    auth: Type.Optional(
      Type.Object(
        {
          /** A token file in the shape `annals serve --tokens` reads. */
          tokens: Type.Optional(Type.String({ minLength: 1 })),
          jwt: Type.Optional(
            Type.Object(
              { jwksUrl: Url, issuer: Type.String({ minLength: 1 }), audience: Type.String({ minLength: 1 }) },
              { additionalProperties: false },
            ),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    rateLimit: Type.Optional(
      Type.Object(
        {
          perToken: Type.Integer({ minimum: 1 }),
          perAddress: Type.Integer({ minimum: 1 }),
          windowMs: Millis,
          redisUrl: Type.Optional(Type.String({ pattern: '^rediss?://', description: 'a redis:// or rediss:// URL' })),
          /** Prefix of the Redis keys; gateways that share limits share it. */
          redisPrefix: Type.Optional(Type.String({ minLength: 1 })),
        },
        { additionalProperties: false },
      ),
    ),
    health: Type.Optional(
      Type.Object(
        {
          path: Type.Optional(Type.String({ pattern: '^/' })),
          intervalMs: Type.Optional(Millis),
          timeoutMs: Type.Optional(Millis),
          unhealthyAfter: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
        },
        { additionalProperties: false },
      ),
    ),
    /** Addresses (or CIDR ranges) of load balancers in front: from them, the caller's address is read from X-Forwarded-For. */
    trustProxy: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { maxItems: 100 })),
    /** Shed load (503) while the gateway's own event loop lags more than this: it is itself saturated. */
    maxEventLoopDelayMs: Type.Optional(Millis),
    bodyLimitBytes: Type.Optional(Type.Integer({ minimum: 1 })),
    upstreamTimeoutMs: Type.Optional(Millis),
  },
  { additionalProperties: false },
);

export type GatewayConfig = Static<typeof GatewayConfigSchema>;
export type RouteConfig = Static<typeof Route>;

interface SchemaLike {
  description?: string;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  properties?: Record<string, unknown>;
}

/** `/routes/0/prefix` as `routes[0].prefix`. */
const fieldOf = (path: string) =>
  path
    .split('/')
    .slice(1)
    .map((segment, index) => (/^\d+$/.test(segment) ? `[${segment}]` : index === 0 ? segment : `.${segment}`))
    .join('') || '(the file)';

const allowed = (schema: SchemaLike, message: string) => {
  if (schema.description !== undefined) return schema.description;
  if (schema.properties !== undefined) return `the fields ${Object.keys(schema.properties).join(', ')}`;
  return message;
};

/** Paths the gateway answers itself. */
export const gatewayPaths = ['/metrics', '/health/live', '/health/ready'];

/** Checks a parsed configuration; throws an error naming the first wrong field. Fills in defaults. */
export const parseGatewayConfig = (value: unknown, source = 'the gateway config'): GatewayConfig => {
  const error = Value.Errors(GatewayConfigSchema, value).First();
  if (error !== undefined) {
    const schema = error.schema as SchemaLike;
    const field = fieldOf(error.path);
    const given = error.value === undefined ? 'missing' : JSON.stringify(error.value);
    throw new Error(`${source}: ${field} is ${given}; ${error.message} (allowed: ${allowed(schema, error.message)})`);
  }
  const config = value as GatewayConfig;
  const prefixes = new Set<string>();
  config.routes.forEach((route, index) => {
    if (prefixes.has(route.prefix)) throw new Error(`${source}: routes[${index}].prefix '${route.prefix}' is given twice`);
    if (gatewayPaths.includes(route.prefix.replace(/\/$/, ''))) {
      throw new Error(`${source}: routes[${index}].prefix '${route.prefix}' is the gateway's own (${gatewayPaths.join(', ')})`);
    }
    prefixes.add(route.prefix);
    const auth = route.auth ?? defaultAuth(config);
    if (auth === 'annals' && config.auth?.tokens === undefined) {
      throw new Error(`${source}: routes[${index}].auth is 'annals' but auth.tokens is missing`);
    }
    if (auth === 'jwt' && config.auth?.jwt === undefined) {
      throw new Error(`${source}: routes[${index}].auth is 'jwt' but auth.jwt is missing`);
    }
  });
  return { ...config, listen: { host: '127.0.0.1', ...config.listen } };
};

/** The scheme a route uses when it names none: Annals tokens when configured, else JWT, else none. */
export const defaultAuth = (config: GatewayConfig): 'annals' | 'jwt' | 'none' =>
  config.auth?.tokens !== undefined ? 'annals' : config.auth?.jwt !== undefined ? 'jwt' : 'none';

export const loadGatewayConfig = (file: string): GatewayConfig => {
  const path = resolve(file);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(`${path} could not be read as JSON: ${(error as Error).message}`, { cause: error });
  }
  return parseGatewayConfig(parsed, path);
};
