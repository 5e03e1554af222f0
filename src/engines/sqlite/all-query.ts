/**
 * The SQL of a `$all` read: a range scan on position, with the filter as parameterised predicates. The
 * text depends only on the filter's shape, so prepared statements are reused across values. Prefixes are
 * compared with `substr`, not LIKE, so `_` and `%` in names match only themselves.
 */
import type { AllQuery } from '../../store/validate.js';
import { eventColumns } from './columns.js';

export const allQuerySql = ({ from, to, direction, limit, filter }: AllQuery): { text: string; parameters: unknown[] } => {
  const where = [direction === 'forwards' ? 'position >= ?' : 'position <= ?'];
  const parameters: unknown[] = [from];
  if (to !== undefined) {
    where.push('position <= ?');
    parameters.push(to);
  }
  if (filter?.includeSystem !== true) where.push(`substr(stream, 1, 1) <> '$'`);
  if (filter?.types) {
    where.push(`type IN (${filter.types.map(() => '?').join(', ')})`);
    parameters.push(...filter.types);
  }
  if (filter?.streams) {
    where.push(`(${filter.streams.map(() => 'substr(stream, 1, length(?)) = ?').join(' OR ')})`);
    for (const prefix of filter.streams) parameters.push(prefix, prefix);
  }
  if (filter?.category !== undefined) {
    where.push(`(stream = ? OR substr(stream, 1, length(?) + 1) = ? || '-')`);
    parameters.push(filter.category, filter.category, filter.category);
  }
  parameters.push(limit);
  const order = direction === 'forwards' ? 'ASC' : 'DESC';
  return {
    text: `SELECT ${eventColumns} FROM events WHERE ${where.join(' AND ')} ORDER BY position ${order} LIMIT ?`,
    parameters,
  };
};
