/**
 * The instances of one route: round-robin over the healthy ones. An instance is taken out passively (a
 * connection error or a 5xx from it) or actively (its health check fails), and put back when its health
 * check answers 2xx again. Writes go only to instances whose writable check passes (when the route has
 * one), and no instance gets more than `maxInFlight` requests at once: past that, load is shed.
 */
export interface Instance {
  url: string;
  healthy: boolean;
  writable: boolean;
  inFlight: number;
}

/** An instance to send to, or why there is none: none healthy, none writable, or every one saturated. */
export type Picked = { instance: Instance } | { none: 'unhealthy' | 'read-only' | 'saturated' };

export interface Pool {
  readonly instances: readonly Instance[];
  readonly maxInFlight: number;
  /** The path whose 2xx says an instance takes writes; without one, every healthy instance does. */
  readonly writablePath?: string;
  /** The next healthy instance with room, round-robin; for a write, also writable. */
  pick(write?: boolean): Picked;
  markDown(url: string, reason: string): void;
  markUp(url: string): void;
  markWritable(url: string, writable: boolean): void;
}

export interface PoolOptions {
  maxInFlight?: number;
  writablePath?: string;
  onChange?: (url: string, healthy: boolean, reason: string) => void;
}

export const defaultMaxInFlight = 256;

export const createPool = (
  urls: readonly string[],
  { maxInFlight = defaultMaxInFlight, writablePath, onChange }: PoolOptions = {},
): Pool => {
  const instances: Instance[] = urls.map((url) => ({ url: url.replace(/\/+$/, ''), healthy: true, writable: true, inFlight: 0 }));
  const find = (url: string) => instances.find((candidate) => candidate.url === url);
  let next = 0;
  const set = (url: string, healthy: boolean, reason: string) => {
    const instance = find(url);
    if (instance === undefined || instance.healthy === healthy) return;
    instance.healthy = healthy;
    onChange?.(url, healthy, reason);
  };
  return {
    instances,
    maxInFlight,
    ...(writablePath === undefined ? {} : { writablePath }),
    pick(write = false) {
      let none: 'unhealthy' | 'read-only' | 'saturated' = 'unhealthy';
      for (let tried = 0; tried < instances.length; tried++) {
        const instance = instances[next % instances.length]!;
        next = (next + 1) % instances.length;
        if (!instance.healthy) continue;
        if (write && !instance.writable) {
          if (none === 'unhealthy') none = 'read-only';
          continue;
        }
        if (instance.inFlight >= maxInFlight) {
          none = 'saturated';
          continue;
        }
        return { instance };
      }
      return { none };
    },
    markDown: (url, reason) => set(url, false, reason),
    markUp: (url) => set(url, true, 'health check answered'),
    markWritable: (url, writable) => {
      const instance = find(url);
      if (instance !== undefined) instance.writable = writable;
    },
  };
};
