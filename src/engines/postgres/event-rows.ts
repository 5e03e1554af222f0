/** How events come out of SQL: one column list for every read, parsed without the driver's type parsers. */
import { eventOfRecord } from '../../store/importing.js';
import type { EventRecord, RecordedEvent } from '../../store/model.js';

export const eventColumns =
  'position, stream, revision, id, type, data, metadata, extract(epoch FROM recorded_at)::float8 * 1000 AS recorded_at';

type EventRow = [
  position: string,
  stream: string,
  revision: string,
  id: string,
  type: string,
  data: string,
  metadata: string | null,
  recordedAt: string,
];

/** Every column as the text PostgreSQL sent: parsing is done once, below, and only what is needed. */
export const asText = { getTypeParser: () => (value: string) => value };

/** The row as stored: data and metadata left as JSON text. */
export const toRecord = (row: EventRow): EventRecord => ({
  id: row[3],
  stream: row[1],
  revision: Number(row[2]),
  position: BigInt(row[0]),
  type: row[4],
  data: row[5],
  metadata: row[6],
  recordedAt: Number(row[7]),
});

export const toRecorded = (row: EventRow): RecordedEvent => eventOfRecord(toRecord(row));

export type { EventRow };
