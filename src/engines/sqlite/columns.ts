/** The columns every event read selects, in the order `EventRow` expects them. */
export const eventColumns = 'position, stream, revision, id, type, data, metadata, recorded_at';
