/**
 * The projection cache's shared tier on Redis (DESIGN.md section 9, "Cache"), through ioredis. Keys, under
 * `prefix` (default `annals:cache:`):
 *
 * - `e:<projection>:<version>:<key>`: an entry, with its position (expires after `ttlSeconds`);
 * - `i:<projection>:<version>:<key>`: the position of the key's last invalidation (kept as long);
 * - `a:<projection>`: the last activation, `{"v":version,"p":"position"}`;
 * - channel `c:<projection>`: invalidations, published after the entries are removed.
 *
 * A fill is one script that stores the entry only when no invalidation above its position is recorded,
 * so a slow fill of any instance never puts an outdated value back. Commands fail fast while Redis is
 * unreachable (no offline queue): the cache treats that as a miss and goes on.
 */
import type { Redis, RedisOptions } from 'ioredis';
import type { CacheTier, EntryId, Invalidation, TierSubscriber } from '../../projection/cache/tier.js';

export interface RedisCacheTierOptions {
  /** `redis://host:port/db`; default `redis://127.0.0.1:6379`. */
  url?: string;
  /** Prefix of every key and channel; default `annals:cache:`. */
  prefix?: string;
  /** How long entries (and invalidation marks) live; default 3600. */
  ttlSeconds?: number;
  /** Passed to both connections (commands and subscriber). */
  redis?: RedisOptions;
}

export interface RedisCacheTier extends CacheTier {
  /** The command connection (for tests and benchmarks). */
  readonly client: Redis;
  /** The key an entry is stored under. */
  entryKey(id: EntryId): string;
  close(): Promise<void>;
}

/** Compares two decimal positions of any length, as Lua numbers would lose precision past 2^53. */
const luaAbove = `local function above(a, b)
  if #a ~= #b then return #a > #b end
  return a > b
end`;

/** KEYS: entry, invalidation mark, activation. ARGV: position, entry, ttl ms. */
const fillScript = `${luaAbove}
local mark = redis.call('GET', KEYS[2])
if mark and above(mark, ARGV[1]) then return 0 end
local activation = redis.call('GET', KEYS[3])
if activation and above(cjson.decode(activation).p, ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1`;

/** KEYS: pairs of entry and invalidation mark. ARGV: position, ttl ms. */
const invalidateScript = `${luaAbove}
for i = 1, #KEYS, 2 do
  redis.call('UNLINK', KEYS[i])
  local mark = redis.call('GET', KEYS[i + 1])
  if not mark or above(ARGV[1], mark) then redis.call('SET', KEYS[i + 1], ARGV[1], 'PX', ARGV[2]) end
end
return 1`;

/** KEYS: activation. ARGV: the new activation, its position. Refuses to go back. */
const activateScript = `${luaAbove}
local activation = redis.call('GET', KEYS[1])
if activation and above(cjson.decode(activation).p, ARGV[2]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
return 1`;

interface Message {
  v: number;
  p: string;
  k: string[];
  a: boolean;
}

export const createRedisCacheTier = async (options: RedisCacheTierOptions = {}): Promise<RedisCacheTier> => {
  const { url = 'redis://127.0.0.1:6379', prefix = 'annals:cache:', ttlSeconds = 3600 } = options;
  const ttlMs = String(ttlSeconds * 1000);
  // Loaded here, not on `import 'annals'`: an embedded store that never uses Redis does not pay for it.
  const { Redis: RedisClient } = await import('ioredis');
  const connection = (): Redis =>
    new RedisClient(url, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 3000, ...options.redis });
  const client = connection();
  client.on('error', () => undefined);
  await client.connect();

  const entryKey = ({ name, version, key }: EntryId) => `${prefix}e:${name}:${version}:${key}`;
  const markKey = ({ name, version, key }: EntryId) => `${prefix}i:${name}:${version}:${key}`;
  const activationKey = (name: string) => `${prefix}a:${name}`;
  const channelOf = (name: string) => `${prefix}c:${name}`;

  /** The subscriber connection, shared by the projections subscribed, made at the first subscription. */
  let subscriber: Redis | undefined;
  const subscribers = new Map<string, Set<TierSubscriber>>();
  /** The SUBSCRIBE of each projection's channel, which later subscribers of the projection wait for too. */
  const subscribing = new Map<string, Promise<unknown>>();
  const subscriberConnection = async (): Promise<Redis> => {
    if (subscriber !== undefined) return subscriber;
    // The subscriber queues its SUBSCRIBE while reconnecting, and resubscribes by itself on reconnection.
    const connecting = new RedisClient(url, { lazyConnect: true, connectTimeout: 3000, ...options.redis });
    subscriber = connecting;
    connecting.on('error', () => undefined);
    let up = false;
    const tell = (connected: boolean) => {
      if (up === connected) return;
      up = connected;
      for (const set of subscribers.values()) for (const each of set) each.connected(connected);
    };
    let connected = false;
    connecting.on('close', () => tell(false));
    connecting.on('ready', () => {
      // ioredis sends the resubscriptions before it emits 'ready' (on the next tick): the reply to a PING
      // sent now comes after theirs, so from then on no message is missed.
      if (connected)
        connecting.ping().then(
          () => tell(true),
          () => undefined,
        );
    });
    connecting.on('message', (channel: string, text: string) => {
      const name = channel.slice(`${prefix}c:`.length);
      const set = subscribers.get(name);
      if (set === undefined) return;
      let message: Message;
      try {
        message = JSON.parse(text) as Message;
      } catch {
        return;
      }
      const invalidation: Invalidation = { name, version: message.v, position: BigInt(message.p), keys: message.k, activated: message.a };
      for (const each of set) each.invalidation(invalidation);
    });
    await connecting.connect();
    up = true;
    connected = true;
    return connecting;
  };

  return {
    client,
    entryKey,
    get: (id) => client.get(entryKey(id)),
    async fill(id, position, entry) {
      const stored = await client.eval(fillScript, 3, entryKey(id), markKey(id), activationKey(id.name), String(position), entry, ttlMs);
      return stored === 1;
    },
    async invalidate({ name, version, position, keys, activated }) {
      if (activated) {
        const moved = await client.eval(
          activateScript,
          1,
          activationKey(name),
          JSON.stringify({ v: version, p: String(position) }),
          String(position),
        );
        if (moved === 1) {
          // Every entry of the projection goes, whatever its version; fills below the activation are refused.
          const stream = client.scanStream({ match: `${prefix}e:${name}:*`, count: 1000 });
          for await (const found of stream as AsyncIterable<string[]>) if (found.length > 0) await client.unlink(...found);
        }
      } else if (keys.length > 0) {
        const pairs = keys.flatMap((key) => [entryKey({ name, version, key }), markKey({ name, version, key })]);
        await client.eval(invalidateScript, pairs.length, ...pairs, String(position), ttlMs);
      }
      const message: Message = { v: version, p: String(position), k: [...keys], a: activated };
      await client.publish(channelOf(name), JSON.stringify(message));
    },
    async activation(name) {
      const text = await client.get(activationKey(name));
      if (text === null) return undefined;
      const { v, p } = JSON.parse(text) as { v: number; p: string };
      return { version: v, position: BigInt(p) };
    },
    async subscribe(name, each) {
      const connection = await subscriberConnection();
      let set = subscribers.get(name);
      if (set === undefined) {
        set = new Set();
        subscribers.set(name, set);
        subscribing.set(name, connection.subscribe(channelOf(name)));
      }
      set.add(each);
      await subscribing.get(name);
      return async () => {
        set.delete(each);
        if (set.size === 0 && subscribers.get(name) === set) {
          subscribers.delete(name);
          subscribing.delete(name);
          await connection.unsubscribe(channelOf(name)).catch(() => undefined);
        }
      };
    },
    async close() {
      subscribers.clear();
      subscriber?.disconnect();
      await client.quit().catch(() => client.disconnect());
    },
  };
};
