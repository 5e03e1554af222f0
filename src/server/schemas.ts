/**
 * The shapes of the HTTP API as TypeBox schemas: Fastify validates requests with them, serialises
 * responses with them, and @fastify/swagger turns them into `/openapi.json`. Query strings stay strings
 * (no type coercion), so a revision such as `1.5` or `-1` is refused instead of rounded. Every pattern has
 * a `description`: refusals quote it as what is allowed (src/server/problems.ts), never the pattern.
 */
import { Type } from '@sinclair/typebox';

const revisionPattern = '^(0|[1-9][0-9]{0,15})$';
const positionPattern = '^(0|[1-9][0-9]{0,18})$';

export const StreamParams = Type.Object({ stream: Type.String({ minLength: 1, maxLength: 1024 }) });

const EventInput = Type.Object(
  {
    id: Type.Optional(Type.String({ format: 'uuid' })),
    type: Type.String({ minLength: 1, maxLength: 255 }),
    data: Type.Unknown({ description: 'any JSON value' }),
    metadata: Type.Optional(Type.Object({}, { additionalProperties: true })),
  },
  { additionalProperties: false },
);

export const ExpectedRevision = Type.Union(
  [
    Type.Literal('any'),
    Type.Literal('no_stream'),
    Type.Literal('stream_exists'),
    Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
  ],
  { description: "'any', 'no_stream', 'stream_exists' or a revision (an integer >= 0)" },
);

export const AppendBody = Type.Object(
  { expectedRevision: Type.Optional(ExpectedRevision), events: Type.Array(EventInput, { minItems: 1 }) },
  { additionalProperties: false },
);

export const AppendResult = Type.Object({
  revision: Type.Integer(),
  position: Type.String(),
  recordedAt: Type.Optional(Type.String({ description: 'when the events were recorded; absent for an append found already written' })),
});

const Direction = Type.Union([Type.Literal('forwards'), Type.Literal('backwards')]);
const Limit = Type.String({ pattern: '^[1-9][0-9]{0,15}$', description: 'a positive integer (digits)' });
const List = Type.Union([Type.String(), Type.Array(Type.String(), { maxItems: 100 })], {
  description: 'a string, or up to 100 of them (repeat the parameter)',
});

export const StreamReadQuery = Type.Object(
  {
    from: Type.Optional(Type.String({ pattern: `${revisionPattern}|^start$|^end$`, description: "a revision (digits), 'start' or 'end'" })),
    direction: Type.Optional(Direction),
    limit: Type.Optional(Limit),
  },
  { additionalProperties: false },
);

export const allFilterQuery = {
  types: Type.Optional(List),
  streams: Type.Optional(List),
  category: Type.Optional(Type.String({ minLength: 1 })),
  includeSystem: Type.Optional(Type.Union([Type.Literal('true'), Type.Literal('false')], { description: 'also system streams ($ names)' })),
};

export const AllReadQuery = Type.Object(
  {
    from: Type.Optional(Type.String({ pattern: `${positionPattern}|^start$|^end$`, description: "a position (digits), 'start' or 'end'" })),
    direction: Type.Optional(Direction),
    limit: Type.Optional(Limit),
    ...allFilterQuery,
  },
  { additionalProperties: false },
);

export const StreamSubscribeQuery = Type.Object(
  {
    from: Type.Optional(
      Type.String({ pattern: `${revisionPattern}|^start$|^end$`, description: "the revision to start after (digits), 'start' or 'end'" }),
    ),
  },
  { additionalProperties: false },
);

export const AllSubscribeQuery = Type.Object(
  {
    from: Type.Optional(
      Type.String({ pattern: `${positionPattern}|^start$|^end$`, description: "the position to start after (digits), 'start' or 'end'" }),
    ),
    ...allFilterQuery,
  },
  { additionalProperties: false },
);

export const DeleteQuery = Type.Object(
  {
    expectedRevision: Type.Optional(
      Type.String({
        pattern: `${revisionPattern}|^any$|^no_stream$|^stream_exists$`,
        description: "a revision (digits), 'any', 'no_stream' or 'stream_exists'",
      }),
    ),
    hard: Type.Optional(Type.Union([Type.Literal('true'), Type.Literal('false')])),
  },
  { additionalProperties: false },
);

/** `PUT /streams/{stream}/metadata`: the revision of `$$<stream>` the change expects (`any` when absent). */
export const MetadataQuery = Type.Object({ expectedRevision: DeleteQuery.properties.expectedRevision }, { additionalProperties: false });

const AclEntry = Type.Object(
  {
    tokens: Type.Optional(Type.Array(Type.String(), { maxItems: 100, description: 'token names' })),
    roles: Type.Optional(
      Type.Array(Type.Union([Type.Literal('reader'), Type.Literal('writer'), Type.Literal('admin')]), { maxItems: 100 }),
    ),
  },
  { additionalProperties: false, description: 'tokens by name and roles, in separate lists' },
);

export const StreamAcl = Type.Object(
  { read: Type.Optional(AclEntry), write: Type.Optional(AclEntry), metaRead: Type.Optional(AclEntry) },
  { additionalProperties: false, description: 'who may read, append and read metadata (admins always may)' },
);

export const StreamMetadata = Type.Object(
  {
    maxCount: Type.Optional(Type.Integer({ minimum: 0 })),
    maxAgeSeconds: Type.Optional(Type.Integer({ minimum: 0 })),
    truncateBefore: Type.Optional(Type.Integer({ minimum: 0 })),
    acl: Type.Optional(StreamAcl),
    custom: Type.Optional(Type.Object({}, { additionalProperties: true })),
  },
  { additionalProperties: false },
);

export const StreamListQuery = Type.Object(
  {
    prefix: Type.Optional(Type.String({ minLength: 1, maxLength: 255, description: 'only streams whose names start with this' })),
    after: Type.Optional(Type.String({ minLength: 1, maxLength: 1024, description: 'the last name of the page before' })),
    limit: Type.Optional(Type.String({ pattern: '^([1-9][0-9]{0,2}|1000)$', description: 'an integer from 1 to 1000' })),
  },
  { additionalProperties: false },
);

export const StreamList = Type.Object({
  streams: Type.Array(
    Type.Object({
      stream: Type.String(),
      revision: Type.Integer(),
      position: Type.Optional(Type.String()),
      deleted: Type.Optional(Type.Union([Type.Literal('soft'), Type.Literal('hard')])),
    }),
  ),
  next: Type.Optional(Type.String({ description: 'pass as `after` to list the next page' })),
});

export const RecordedEvent = Type.Object({
  id: Type.String(),
  stream: Type.String(),
  revision: Type.Integer(),
  position: Type.String(),
  type: Type.String(),
  data: Type.Unknown(),
  metadata: Type.Unknown(),
  recordedAt: Type.String(),
});

export const Snapshot = Type.Object({
  stream: Type.String(),
  revision: Type.Integer(),
  schemaVersion: Type.Integer(),
  state: Type.Unknown(),
  recordedAt: Type.String(),
});

export const SnapshotBody = Type.Object(
  {
    revision: Type.Integer({ minimum: 0, description: 'the revision of the last event folded into the state' }),
    schemaVersion: Type.Integer({ minimum: 0, description: 'the shape of the state' }),
    state: Type.Unknown({ description: 'any JSON value' }),
  },
  { additionalProperties: false },
);

export const SnapshotQuery = Type.Object(
  { schemaVersion: Type.Optional(Type.String({ pattern: '^[0-9]{1,10}$', description: 'an integer >= 0 (digits)' })) },
  { additionalProperties: false },
);

export const EventPage = Type.Object({
  events: Type.Array(RecordedEvent),
  next: Type.Optional(Type.String({ description: 'pass as `from` to read the next page' })),
});

export const Identity = Type.Object({
  storeId: Type.String({ minLength: 1, maxLength: 64 }),
  epoch: Type.Integer({ minimum: 1, maximum: 2 ** 31 - 1 }),
  epochStart: Type.String({ pattern: positionPattern, description: 'the head position when the epoch began (digits)' }),
});

export const DiskUsage = Type.Object({
  usedBytes: Type.Integer({ description: 'SQLite: the database file and its write-ahead log; PostgreSQL: the schema; memory: 0' }),
  budgetBytes: Type.Optional(Type.Integer({ description: 'the disk budget (`--max-size`), when one is set' })),
});

export const ReplicaInfo = Type.Object({
  primary: Type.String(),
  live: Type.Boolean({ description: 'following the primary live now' }),
  appliedPosition: Type.String({ description: 'position of the last event written here' }),
  lagSeconds: Type.Number({ description: 'how far behind the primary this replica may be' }),
  stopped: Type.Optional(Type.String({ description: 'why following stopped for good (another log)' })),
  promotedAt: Type.Optional(Type.String({ description: 'when the operator promoted this server (ISO 8601)' })),
});

export const Stats = Type.Composite([
  Type.Object({
    engine: Type.String(),
    events: Type.Integer(),
    streams: Type.Integer(),
    headPosition: Type.String(),
    disk: DiskUsage,
    readOnly: Type.Union([Type.Null(), Type.Object({ reason: Type.String(), since: Type.String({ format: 'date-time' }) })], {
      description: 'null while writes are taken; else why they are refused (as /health/ready says) and since when',
    }),
    rates: Type.Object(
      {
        appendedEventsPerSecond: Type.Number(),
        readEventsPerSecond: Type.Number(),
        windowSeconds: Type.Number({ description: 'the time the rates are averaged over: up to 60 s' }),
      },
      { description: 'events appended and read through this server per second, over about the last minute' },
    ),
    subscriptions: Type.Integer({ description: 'subscriptions open on this server now' }),
    replica: Type.Optional(ReplicaInfo),
  }),
  Identity,
]);

/** An event of another store's log, as `/all` gives it, to import. */
export const ImportedEvent = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    stream: Type.String({ minLength: 1, maxLength: 1024 }),
    revision: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
    position: Type.String({ pattern: positionPattern, description: 'a position (digits)' }),
    type: Type.String({ minLength: 1, maxLength: 255 }),
    data: Type.Unknown({ description: 'any JSON value' }),
    metadata: Type.Optional(Type.Object({}, { additionalProperties: true })),
    recordedAt: Type.String({ format: 'date-time' }),
  },
  { additionalProperties: false },
);

export const Problem = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    code: Type.String(),
  },
  { additionalProperties: true },
);
