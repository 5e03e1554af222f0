import type { EventStore } from '../store/event-store.js';
import { defaultLimits, type Limits } from '../store/limits.js';
import { InvalidArgumentError, UnavailableError } from '../store/errors.js';
import { createEventStore } from '../store/create-store.js';
import { checkUpcasters, type Upcasters } from '../store/upcasting.js';
import type { PostgresEngineOptions } from './postgres/engine.js';
import type { PostgresReadModel, PostgresReadModelOptions } from './postgres/read-model.js';
import type { SqliteReadModel } from './sqlite/read-model.js';

/** `fsync`: an acknowledged append survives power loss. `os`: it survives a crash of the process only. */
export type Durability = 'fsync' | 'os';

/** What every engine takes. `upcasters` turn old stored events into today's shape as they are read (DESIGN.md section 8). */
interface CommonOptions {
  limits?: Partial<Limits>;
  upcasters?: Upcasters;
}

export type OpenOptions =
  | ({ engine?: 'sqlite'; path?: string; durability?: Durability; maxSizeBytes?: number } & CommonOptions)
  | ({ engine: 'postgres' } & CommonOptions & PostgresEngineOptions)
  | ({ engine: 'memory' } & CommonOptions);

export const defaultSqlitePath = './data/annals.db';

/**
 * Opens an event store on one of the engines. Engines load on demand, so that a process that never opens
 * SQLite never loads its native module; better-sqlite3 is an optional peer dependency, installed by those
 * who embed the store or run the server on SQLite, and by nobody who only uses the client.
 */
export const openEventStore = async (options: OpenOptions = {}): Promise<EventStore> => {
  const limits = { ...defaultLimits, ...options.limits };
  // Checked before an engine opens, so that a bad option leaves nothing open.
  const upcasters = checkUpcasters(options.upcasters);
  switch (options.engine) {
    case undefined:
    case 'sqlite': {
      const { openSqliteEngine } = await import('./sqlite/engine.js').catch((error: unknown) => {
        if (!String(error).includes('better-sqlite3')) throw error;
        throw new UnavailableError('the SQLite engine needs the package better-sqlite3: npm install better-sqlite3', { cause: error });
      });
      const { path = defaultSqlitePath, durability = 'fsync', maxSizeBytes } = options;
      return createEventStore(openSqliteEngine({ path, durability, maxSizeBytes }), limits, upcasters);
    }
    case 'postgres': {
      const { openPostgresEngine } = await import('./postgres/engine.js');
      const { engine: _engine, limits: _limits, upcasters: _upcasters, ...engineOptions } = options;
      return createEventStore(await openPostgresEngine(engineOptions), limits, upcasters);
    }
    case 'memory': {
      const { createMemoryEngine } = await import('./memory/engine.js');
      return createEventStore(createMemoryEngine(), limits, upcasters);
    }
    default:
      throw new InvalidArgumentError(`unknown engine '${String((options as { engine: unknown }).engine)}'`);
  }
};

/**
 * A read model for projections in a SQLite file (created if missing); its handlers get the better-sqlite3
 * database. Loaded on demand, as the SQLite engine is.
 */
export const openSqliteReadModel = async (path: string): Promise<SqliteReadModel> => {
  const { createSqliteReadModel } = await import('./sqlite/read-model.js');
  return createSqliteReadModel(path);
};

/**
 * A read model for projections in a PostgreSQL schema (created if missing; default `annals_read`); its
 * handlers get `db.query(text, values)` on the batch's transaction. Loaded on demand.
 */
export const openPostgresReadModel = async (options: PostgresReadModelOptions): Promise<PostgresReadModel> => {
  const { createPostgresReadModel } = await import('./postgres/read-model.js');
  return createPostgresReadModel(options);
};
