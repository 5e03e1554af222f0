import { InvalidArgumentError } from '../store/errors.js';
import { shown } from '../store/validate.js';
import type { Build, BuildContext } from './model.js';

const tableNamePattern = /^[A-Za-z_][A-Za-z0-9_]{0,47}$/;

/**
 * Names of a build's tables: `name` suffixed with the build's number, so builds of one projection sit
 * side by side. The names are checked because they go into SQL text.
 */
export const buildContext = (build: Pick<Build, 'build'>): BuildContext & { readonly named: ReadonlySet<string> } => {
  const named = new Set<string>();
  return {
    named,
    table(name) {
      if (typeof name !== 'string' || !tableNamePattern.test(name)) {
        throw new InvalidArgumentError(`table name is ${shown(name)}; allowed: a letter or '_', then up to 47 letters, digits or '_'`);
      }
      named.add(name);
      return `${name}__${build.build}`;
    },
  };
};

/** Refuses a promise where a read model runs its transactions synchronously. */
export const synchronously = (result: void | Promise<void>, what: string): void => {
  if (result instanceof Promise) {
    result.catch(() => undefined);
    throw new InvalidArgumentError(
      `${what} returned a promise; allowed here: synchronous handlers (the batch is one synchronous transaction)`,
    );
  }
};
