/**
 * A read model as the cache sees it, for the cache's tests: rows by key and a position, loads counted, a
 * switch that makes the read database "down", and loads that can be held until the test releases them.
 */
import type { ProjectionCommit } from '../../model.js';

export interface FakeReadModel<Value> {
  rows: Map<string, Value>;
  position: bigint;
  /** Loads made, by key. */
  loads: Map<string, number>;
  /** When set, `load` and `position` throw it (the read database is down). */
  failure: Error | undefined;
  /** When true, each load waits for `release()`, reading its row then. */
  hold: boolean;
  release(): void;
  /** The source of a cache. */
  load(key: string): Promise<Value | undefined>;
  readPosition(): Promise<bigint>;
  /** Changes rows and moves the position, as a runner's commit does: the commit to tell caches. */
  commit(changes: Record<string, Value>, name: string, version: number): ProjectionCommit;
  loadsOf(key: string): number;
}

export const fakeReadModel = <Value>(rows: Record<string, Value> = {}): FakeReadModel<Value> => {
  const held: (() => void)[] = [];
  const model: FakeReadModel<Value> = {
    rows: new Map(Object.entries(rows)),
    position: 1n,
    loads: new Map(),
    failure: undefined,
    hold: false,
    release() {
      for (const resume of held.splice(0)) resume();
    },
    async load(key) {
      if (model.failure !== undefined) throw model.failure;
      model.loads.set(key, (model.loads.get(key) ?? 0) + 1);
      if (model.hold) await new Promise<void>((resolve) => held.push(resolve));
      return model.rows.get(key);
    },
    async readPosition() {
      if (model.failure !== undefined) throw model.failure;
      return model.position;
    },
    commit(changes, name, version) {
      for (const [key, value] of Object.entries(changes)) model.rows.set(key, value);
      model.position += 1n;
      return { name, version, build: 1, position: model.position, keys: Object.keys(changes), activated: false };
    },
    loadsOf: (key) => model.loads.get(key) ?? 0,
  };
  return model;
};
