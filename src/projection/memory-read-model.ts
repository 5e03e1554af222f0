/**
 * A read model in memory, for tests and for state small enough to rebuild at every start: named tables of
 * rows by key. A batch that throws is undone (each change keeps what it replaced), so the rules are the
 * same as on SQLite. Rows are values: a handler replaces a row (`set`), it does not change one in place.
 */
import type { Projection, ReadModel } from './model.js';

export interface MemoryTable<Row> {
  get(key: string): Row | undefined;
  has(key: string): boolean;
  set(key: string, row: Row): void;
  delete(key: string): void;
  values(): IterableIterator<Row>;
  readonly size: number;
}

export interface MemoryDb {
  table<Row>(name: string): MemoryTable<Row>;
}

export type MemoryReadModel = ReadModel<MemoryDb> & { readonly db: MemoryDb };

export const createMemoryReadModel = (): MemoryReadModel => {
  const tables = new Map<string, Map<string, unknown>>();
  const checkpoints = new Map<string, bigint>();
  /** While a batch runs: how to undo each change it made, in order. */
  let undo: (() => void)[] | undefined;

  const handles = new Map<string, MemoryTable<unknown>>();
  const table = <Row>(name: string): MemoryTable<Row> => {
    let handle = handles.get(name) as MemoryTable<Row> | undefined;
    if (handle === undefined) {
      handle = tableOf<Row>(name);
      handles.set(name, handle as MemoryTable<unknown>);
    }
    return handle;
  };
  const tableOf = <Row>(name: string): MemoryTable<Row> => {
    const held = new Map<string, Row>();
    tables.set(name, held);
    const remember = (key: string) => {
      if (undo === undefined) return;
      const had = held.has(key);
      const before = held.get(key);
      undo.push(() => (had ? held.set(key, before as Row) : held.delete(key)));
    };
    return {
      get: (key) => held.get(key),
      has: (key) => held.has(key),
      set(key, row) {
        remember(key);
        held.set(key, row);
      },
      delete(key) {
        remember(key);
        held.delete(key);
      },
      values: () => held.values(),
      get size() {
        return held.size;
      },
    };
  };
  const db: MemoryDb = { table };
  const keyOf = ({ name, version }: Projection<MemoryDb>) => `${name}@${version}`;

  const inBatch = <T>(work: () => T): T => {
    undo = [];
    try {
      return work();
    } catch (error) {
      for (const step of undo.reverse()) step();
      throw error;
    } finally {
      undo = undefined;
    }
  };

  return {
    db,
    async start(projection) {
      const found = checkpoints.get(keyOf(projection));
      if (found !== undefined) return found;
      inBatch(() => projection.init(db));
      checkpoints.set(keyOf(projection), 0n);
      return 0n;
    },
    async commit(projection, from, to, apply) {
      if (checkpoints.get(keyOf(projection)) !== from) return false;
      inBatch(() => apply(db));
      checkpoints.set(keyOf(projection), to);
      return true;
    },
    async close() {
      tables.clear();
      handles.clear();
    },
  };
};
