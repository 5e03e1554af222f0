/**
 * A read model in memory, for tests and for state small enough to rebuild at every start: named tables of
 * rows by key. Each build's tables are named through `context.table`; queries read a table by its plain
 * name, which resolves to the active build's table (read-only through that name). A batch that throws is
 * undone (each change keeps what it replaced), so the rules are the same as on SQLite. Rows are values: a
 * handler replaces a row (`set`), it does not change one in place.
 */
import { ConflictError, InvalidArgumentError } from '../store/errors.js';
import { buildContext, synchronously } from './build-context.js';
import type { Build, Projection, ReadModel } from './model.js';

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

type BuildEntry = Build & { tables: string[] };

export const createMemoryReadModel = (): MemoryReadModel => {
  const handles = new Map<string, MemoryTable<unknown>>();
  /** A query's name of a table -> the active build's table. */
  const views = new Map<string, MemoryTable<unknown>>();
  const builds = new Map<string, BuildEntry[]>();
  let lastBuild = 0;
  /** While a batch runs: how to undo each change it made, in order. */
  let undo: (() => void)[] | undefined;

  const table = <Row>(name: string): MemoryTable<Row> => {
    const handle = views.get(name) ?? handles.get(name);
    if (handle !== undefined) return handle as MemoryTable<Row>;
    const created = tableOf<Row>();
    handles.set(name, created as MemoryTable<unknown>);
    return created;
  };
  const tableOf = <Row>(): MemoryTable<Row> => {
    const held = new Map<string, Row>();
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
  const readOnly = (name: string, handle: MemoryTable<unknown>): MemoryTable<unknown> => {
    const refuse = () => {
      throw new InvalidArgumentError(`table '${name}' is the view of the active build; a handler writes context.table('${name}')`);
    };
    return {
      ...handle,
      set: refuse,
      delete: refuse,
      values: () => handle.values(),
      get size() {
        return handle.size;
      },
    };
  };
  const db: MemoryDb = { table };

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
  const buildsOf = (name: string) => builds.get(name) ?? [];
  const find = ({ name, build }: Build) => buildsOf(name).find((entry) => entry.build === build);
  const pointViews = (entry: BuildEntry, at: boolean) => {
    const context = buildContext(entry);
    for (const name of entry.tables) {
      const owner = [...builds.values()].flat().find((other) => other.active && other.name !== entry.name && other.tables.includes(name));
      if (at && owner !== undefined)
        throw new ConflictError(`table '${name}' of projection '${entry.name}' is already projection '${owner.name}''s`);
      if (at) views.set(name, readOnly(name, handles.get(context.table(name))!));
      else views.delete(name);
    }
  };
  const snapshot = ({ tables: _, ...build }: BuildEntry): Build => ({ ...build });

  const createBuild = (projection: Projection<MemoryDb>): Build => {
    const list = buildsOf(projection.name);
    const build = ++lastBuild;
    const context = buildContext({ build });
    inBatch(() => synchronously(projection.init(db, context), `projection '${projection.name}': init`));
    const tables = [...context.named].filter((name) => handles.has(context.table(name)));
    const entry: BuildEntry = {
      name: projection.name,
      version: projection.version,
      build,
      position: 0n,
      active: !list.some((other) => other.active),
      tables,
    };
    try {
      if (entry.active) pointViews(entry, true);
    } catch (error) {
      for (const name of tables) handles.delete(context.table(name));
      throw error;
    }
    builds.set(projection.name, [...list, entry]);
    return snapshot(entry);
  };

  return {
    db,
    async builds(name) {
      return buildsOf(name).map(snapshot);
    },
    async open(projection) {
      const list = buildsOf(projection.name);
      const active = list.find((entry) => entry.active);
      if (active?.version === projection.version) return snapshot(active);
      const newest = list.filter((entry) => entry.version === projection.version).at(-1);
      return newest === undefined ? createBuild(projection) : snapshot(newest);
    },
    async create(projection) {
      return createBuild(projection);
    },
    async commit(build, from, to, apply) {
      const entry = find(build);
      if (entry?.position !== from) return false;
      inBatch(() => synchronously(apply(db), `projection '${build.name}': a handler`));
      entry.position = to;
      return true;
    },
    async activate(build) {
      const entry = find(build);
      const serving = buildsOf(build.name).find((other) => other.active);
      if (entry === undefined) return false;
      if (serving !== undefined) {
        if (serving === entry) return true;
        if (serving.position > entry.position) return false;
        serving.active = false;
        pointViews(serving, false);
      }
      entry.active = true;
      pointViews(entry, true);
      return true;
    },
    async drop(build) {
      const entry = find(build);
      if (entry === undefined) return;
      if (entry.active)
        throw new ConflictError(`build ${build.build} of projection '${build.name}' serves queries: activate another first`);
      const context = buildContext(entry);
      for (const name of entry.tables) handles.delete(context.table(name));
      builds.set(
        build.name,
        buildsOf(build.name).filter((other) => other !== entry),
      );
    },
    context: buildContext,
    async close() {
      handles.clear();
      views.clear();
      builds.clear();
    },
  };
};
