import { InvalidArgumentError } from '../store/errors.js';
import { checkFilter, shown } from '../store/validate.js';
import type { Projection } from './model.js';

const namePattern = /^[A-Za-z][A-Za-z0-9_-]{0,62}$/;

/** A projection, checked: its name, version, source, init and handlers, each refused by name when wrong. */
export const defineProjection = <Db>(projection: Projection<Db>): Projection<Db> => {
  const { name, version, source, init, handlers } = projection;
  if (typeof name !== 'string' || !namePattern.test(name)) {
    throw new InvalidArgumentError(`projection name is ${shown(name)}; allowed: a letter, then up to 62 letters, digits, '-' or '_'`);
  }
  if (!Number.isSafeInteger(version) || version < 1 || version > 2 ** 31 - 1) {
    throw new InvalidArgumentError(`projection '${name}': version is ${shown(version)}; allowed: an integer from 1 to ${2 ** 31 - 1}`);
  }
  if (typeof init !== 'function')
    throw new InvalidArgumentError(`projection '${name}': init is ${shown(init)}; allowed: a function (db) => void`);
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
  return { name, version, source: checkFilter(source), init, handlers: { ...handlers } };
};
