import { InvalidArgumentError } from '../store/errors.js';
import { checkFilter, shown } from '../store/validate.js';
import type { Projection } from './model.js';

/** What `defineProjection` takes: a projection whose `handlers` may be left out when it has `handleBatch`. */
export type ProjectionDefinition<Db> = Omit<Projection<Db>, 'handlers'> & { handlers?: Projection<Db>['handlers'] };

const namePattern = /^[A-Za-z][A-Za-z0-9_-]{0,62}$/;

/**
 * A projection, checked: its name, version, source, init and handlers, each refused by name when wrong. With
 * `handleBatch` and no `handlers`, the types it reads are `source.types`.
 */
export const defineProjection = <Db>(projection: ProjectionDefinition<Db>): Projection<Db> => {
  const { name, version, source, init, handleBatch } = projection;
  let { handlers } = projection;
  if (typeof name !== 'string' || !namePattern.test(name)) {
    throw new InvalidArgumentError(`projection name is ${shown(name)}; allowed: a letter, then up to 62 letters, digits, '-' or '_'`);
  }
  if (!Number.isSafeInteger(version) || version < 1 || version > 2 ** 31 - 1) {
    throw new InvalidArgumentError(`projection '${name}': version is ${shown(version)}; allowed: an integer from 1 to ${2 ** 31 - 1}`);
  }
  if (typeof init !== 'function')
    throw new InvalidArgumentError(`projection '${name}': init is ${shown(init)}; allowed: a function (db) => void`);
  if (handleBatch !== undefined && typeof handleBatch !== 'function') {
    throw new InvalidArgumentError(
      `projection '${name}': handleBatch is ${shown(handleBatch)}; allowed: a function (db, events, context) => void, or none`,
    );
  }
  if (handleBatch !== undefined) {
    if (handlers !== undefined && Object.keys(handlers).length > 0) {
      throw new InvalidArgumentError(`projection '${name}': handlers and handleBatch are both given; allowed: one of them`);
    }
    const types = source?.types;
    if (!Array.isArray(types) || types.length === 0) {
      throw new InvalidArgumentError(
        `projection '${name}': handleBatch reads source.types, which is ${shown(types)}; allowed: a list of event types`,
      );
    }
    handlers = {};
  }
  if (typeof handlers !== 'object' || handlers === null || Array.isArray(handlers)) {
    throw new InvalidArgumentError(
      `projection '${name}': handlers is ${shown(handlers)}; allowed: { [eventType]: (db, event, context) => void }`,
    );
  }
  for (const [type, handler] of Object.entries(handlers)) {
    if (typeof handler !== 'function') {
      throw new InvalidArgumentError(
        `projection '${name}': handlers['${type}'] is ${shown(handler)}; allowed: a function (db, event, context) => void`,
      );
    }
  }
  return {
    name,
    version,
    source: checkFilter(source),
    init,
    handlers: { ...handlers },
    ...(handleBatch === undefined ? {} : { handleBatch }),
  };
};
