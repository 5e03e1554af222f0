import type { AllFilter } from './model.js';
import { categoryOf, isSystemStream } from './model.js';

/**
 * Whether an event of `stream` and `type` passes a `$all` filter; engines with SQL express the same in SQL.
 * System streams (`$` names) pass only when the filter sets `includeSystem`, whatever else it says.
 */
export const matchesFilter = (filter: AllFilter | undefined, stream: string, type: string): boolean =>
  filter === undefined
    ? !isSystemStream(stream)
    : (filter.includeSystem === true || !isSystemStream(stream)) &&
      (filter.types === undefined || filter.types.includes(type)) &&
      (filter.streams === undefined || filter.streams.some((prefix) => stream.startsWith(prefix))) &&
      (filter.category === undefined || categoryOf(stream) === filter.category);
