import { eventOfRecord } from '../../store/importing.js';
import type { EventRecord, RecordedEvent } from '../../store/model.js';

/** The columns every event read selects, in the order `EventRow` expects them. */
export const eventColumns = 'position, stream, revision, id, type, data, metadata, recorded_at';

/** An event row as `eventColumns` selects it, raw. */
export type EventRow = [
  position: number,
  stream: string,
  revision: number,
  id: string,
  type: string,
  data: string,
  metadata: string | null,
  recordedAt: number,
];

/** The row as stored: data and metadata left as JSON text. */
export const toRecord = (row: EventRow): EventRecord => ({
  id: row[3],
  stream: row[1],
  revision: row[2],
  position: BigInt(row[0]),
  type: row[4],
  data: row[5],
  metadata: row[6],
  recordedAt: row[7],
});

export const toRecorded = (row: EventRow): RecordedEvent => eventOfRecord(toRecord(row));
