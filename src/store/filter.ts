import type { AllFilter } from './model.js';
import { categoryOf } from './model.js';

/** Whether an event of `stream` and `type` passes a `$all` filter; engines with SQL express the same in SQL. */
export const matchesFilter = (filter: AllFilter | undefined, stream: string, type: string): boolean =>
  filter === undefined ||
  ((filter.types === undefined || filter.types.includes(type)) &&
    (filter.streams === undefined || filter.streams.some((prefix) => stream.startsWith(prefix))) &&
    (filter.category === undefined || categoryOf(stream) === filter.category));
