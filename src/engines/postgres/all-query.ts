/**
 * `$all` reads as one parameterised statement. Stream prefixes and categories are compared with
 * `starts_with`, not LIKE, so `%` and `_` in a filter are plain characters and need no escaping.
 */
import type { AllQuery } from '../../store/validate.js';
import { eventColumns } from './event-rows.js';

export const allQuerySql = (s: string, { from, to, direction, limit, filter }: AllQuery): { text: string; values: unknown[] } => {
  const values: unknown[] = [from.toString(), limit];
  const where = [direction === 'forwards' ? 'position >= $1' : 'position <= $1'];
  const parameter = (value: unknown) => `$${values.push(value)}`;
  if (to !== undefined) where.push(`position <= ${parameter(to.toString())}`);
  if (filter?.includeSystem !== true) where.push(`NOT starts_with(stream, '$')`);
  if (filter?.types) where.push(`type = ANY (${parameter(filter.types)}::text[])`);
  if (filter?.streams)
    where.push(`EXISTS (SELECT FROM unnest(${parameter(filter.streams)}::text[]) AS prefix WHERE starts_with(stream, prefix))`);
  if (filter?.category) {
    const category = parameter(filter.category);
    where.push(`(stream = ${category}::text OR starts_with(stream, ${category}::text || '-'))`);
  }
  const order = direction === 'forwards' ? 'ASC' : 'DESC';
  return { text: `SELECT ${eventColumns} FROM ${s}.events WHERE ${where.join(' AND ')} ORDER BY position ${order} LIMIT $2`, values };
};
