/**
 * The instances of one route: round-robin over the healthy ones. An instance is taken out passively (a
 * connection error or a 5xx from it) or actively (its health check fails), and put back when its health
 * check answers 2xx again.
 */
export interface Instance {
  url: string;
  healthy: boolean;
}

export interface Pool {
  readonly instances: readonly Instance[];
  /** The next healthy instance, round-robin; `undefined` when none is healthy. */
  pick(): Instance | undefined;
  markDown(url: string, reason: string): void;
  markUp(url: string): void;
}

export interface PoolEvents {
  onChange?: (url: string, healthy: boolean, reason: string) => void;
}

export const createPool = (urls: readonly string[], { onChange }: PoolEvents = {}): Pool => {
  const instances: Instance[] = urls.map((url) => ({ url: url.replace(/\/+$/, ''), healthy: true }));
  let next = 0;
  const set = (url: string, healthy: boolean, reason: string) => {
    const instance = instances.find((candidate) => candidate.url === url);
    if (instance === undefined || instance.healthy === healthy) return;
    instance.healthy = healthy;
    onChange?.(url, healthy, reason);
  };
  return {
    instances,
    pick() {
      for (let tried = 0; tried < instances.length; tried++) {
        const instance = instances[next % instances.length]!;
        next = (next + 1) % instances.length;
        if (instance.healthy) return instance;
      }
      return undefined;
    },
    markDown: (url, reason) => set(url, false, reason),
    markUp: (url) => set(url, true, 'health check answered'),
  };
};
