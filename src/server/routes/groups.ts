/**
 * Durable consumer groups over HTTP (DESIGN.md sections 5 and 7): settings, pulls (long polls), push over
 * Server-Sent Events with credits, settles, parked events and replays.
 *
 * Who may do what: managing a group (create, change, delete, replays, parked replay and delete) takes an
 * admin; reading its info, listing and consuming it (pull, push, ack, nack, extend, parked list) take a
 * reader whose token covers the group (src/auth/access.ts `coversGroup`): a token limited to prefixes
 * only sees and consumes groups confined to them, and a group it creates is confined to its prefixes.
 * Stream ACLs hold per delivery: a delivery of a stream the consumer's token may not read never reaches it;
 * it is parked with the reason `not readable by the consumer's token`, for an operator to look at.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import {
  defaultGroupSettings,
  maxPullSize,
  maxWaitMs,
  nackActions,
  strategies,
  type Delivery as GroupDelivery,
  type GroupSettings as Settings,
  type MutableGroupSettings,
  type NackAction,
} from '../../bus/groups/model.js';
import { checkGroupSettings } from '../../bus/groups/validate.js';
import { covers, coversGroup, scopeOfNewGroup } from '../../auth/access.js';
import type { Principal } from '../../auth/tokens.js';
import { AccessDeniedError, ConflictError } from '../../store/errors.js';
import {
  deliveryToJsonText,
  groupInfoToJson,
  groupSettingsToJson,
  parkedPageToJson,
  type GroupSettingsInputJson,
} from '../../protocol/wire.js';
import type { RouteContext } from '../context.js';
import { openEventStream, writeStreamProblem } from '../sse.js';
import { Problem, RecordedEvent } from '../schemas.js';

const positionPattern = '^(0|[1-9][0-9]{0,18})$';
const Position = Type.String({ pattern: positionPattern, description: 'a position (digits)' });
const Name = Type.String({ minLength: 1, maxLength: 1024 });
const Names = Type.Array(Type.String({ minLength: 1, maxLength: 1024 }), { minItems: 1, maxItems: 100 });

export const GroupParams = Type.Object({ group: Name });

const strict = { additionalProperties: false } as const;

export const GroupSource = Type.Union(
  [
    Type.Object({ stream: Name }, strict),
    Type.Object({ category: Name }, strict),
    Type.Object(
      {
        filter: Type.Object(
          {
            types: Type.Optional(Names),
            streams: Type.Optional(Names),
            category: Type.Optional(Name),
            includeSystem: Type.Optional(Type.Boolean()),
          },
          strict,
        ),
      },
      strict,
    ),
    Type.Object({}, strict),
  ],
  { description: '{ stream }, { category }, { filter: { types?, streams?, category?, includeSystem? } } or {} (the whole log)' },
);

/** Enumerations as `enum` (not unions of `const`), so that the OpenAPI document shows them as they are declared here. */
const oneOf = <T extends string>(values: readonly T[]) => Type.Unsafe<T>({ type: 'string', enum: [...values] });
const Strategy = oneOf(strategies);

const mutableFields = {
  strategy: Strategy,
  ackTimeoutMs: Type.Integer({ minimum: 1 }),
  maxRetries: Type.Integer({ minimum: 0 }),
  retryDelayMs: Type.Integer({ minimum: 0 }),
  maxInFlight: Type.Integer({ minimum: 1 }),
  maxPending: Type.Integer({ minimum: 1 }),
  consumerTimeoutMs: Type.Integer({ minimum: 1 }),
  paused: Type.Boolean(),
};
const mutableKeys = Object.keys(mutableFields) as (keyof MutableGroupSettings)[];

/** Settings as a request gives them (PUT: unset fields take their defaults; PATCH: unset fields stay). */
export const GroupSettingsInput = Type.Object(
  {
    source: Type.Optional(GroupSource),
    from: Type.Optional(Type.String({ pattern: `${positionPattern}|^start$|^end$`, description: "'start', 'end' or a position (digits)" })),
    scope: Type.Optional(Names),
    strategy: Type.Optional(mutableFields.strategy),
    ackTimeoutMs: Type.Optional(mutableFields.ackTimeoutMs),
    maxRetries: Type.Optional(mutableFields.maxRetries),
    retryDelayMs: Type.Optional(mutableFields.retryDelayMs),
    maxInFlight: Type.Optional(mutableFields.maxInFlight),
    maxPending: Type.Optional(mutableFields.maxPending),
    consumerTimeoutMs: Type.Optional(mutableFields.consumerTimeoutMs),
    paused: Type.Optional(mutableFields.paused),
  },
  strict,
);

export const GroupSettingsSchema = Type.Object({
  source: GroupSource,
  from: Type.String({ description: 'the position after which the group starts (exclusive)' }),
  scope: Type.Optional(Type.Array(Type.String())),
  ...mutableFields,
});

export const GroupInfo = Type.Object({
  name: Type.String(),
  settings: GroupSettingsSchema,
  checkpoint: Type.String(),
  lastPosition: Type.String(),
  lag: Type.Object({ events: Type.Integer(), estimated: Type.Boolean(), seconds: Type.Number() }),
  pending: Type.Integer(),
  inFlight: Type.Integer(),
  parked: Type.Integer(),
  consumers: Type.Array(Type.Object({ name: Type.String(), inFlight: Type.Integer(), lastSeenAt: Type.String() })),
  rate: Type.Number(),
  state: oneOf(['live', 'catching_up', 'paused'] as const),
  replay: Type.Optional(Type.Object({ from: Type.String(), to: Type.String(), next: Type.String() })),
});

export const DeliverySchema = Type.Object({ id: Type.String(), attempt: Type.Integer(), replay: Type.Boolean(), event: RecordedEvent });

const DeliveryIds = Type.Array(
  Type.String({ pattern: '^[0-9]{1,15}\\.[0-9]{1,15}\\.[0-9]{1,9}$', description: 'a delivery id as pull returned it' }),
  {
    minItems: 1,
    maxItems: 10_000,
  },
);

export const SettleResult = Type.Object({
  settled: Type.Array(Type.String()),
  alreadySettled: Type.Array(Type.String()),
  stale: Type.Array(Type.String()),
});

const ParkedPositions = Type.Array(Position, { minItems: 1, maxItems: 10_000 });
/** A body that may be left out (Fastify validates a missing body as `null`). */
const ParkedSelection = Type.Union(
  [Type.Object({ ids: Type.Optional(ParkedPositions), limit: Type.Optional(Type.Integer({ minimum: 1 })) }, strict), Type.Null()],
  { description: '{ ids?: positions of parked events, limit? }, or no body' },
);
const ParkedDeleteQuery = Type.Object(
  {
    ids: Type.Optional(Type.Union([Position, ParkedPositions], { description: 'positions of parked events (repeat the parameter)' })),
    limit: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,4}$', description: 'an integer from 1 to 10000' })),
  },
  strict,
);

export const ParkedPage = Type.Object({
  parked: Type.Array(Type.Object({ event: RecordedEvent, reason: Type.String(), attempts: Type.Integer(), parkedAt: Type.String() })),
  next: Type.Optional(Type.String({ description: 'pass as `after` for the next page' })),
});

const problems = { '4xx': Problem, '5xx': Problem };
const tags = ['groups'];

/** Why a delivery is parked instead of sent. */
export const unreadableReason = "not readable by the consumer's token";

/** How long this server trusts what it read of a group's source and scope (they change only by delete and create). */
const settingsTtlMs = 1_000;

/** Deliveries pushed over SSE and not yet settled, by delivery id: what frees a connection's credit. */
type Outstanding = Map<string, { release: () => void; extend: (ms: number) => void }>;

/** The body as the schema checked it (the type provider reads `enum` schemas as `unknown`). */
const settingsFromBody = (body: object) => body as GroupSettingsInputJson;

export const groupRoutes: FastifyPluginAsyncTypebox<RouteContext> = async (app, { store, metrics, heartbeatMs, subscriptions, acls }) => {
  const { groups } = store;
  const known = new Map<string, { settings: Promise<Settings>; until: number }>();
  const outstanding: Outstanding = new Map();

  /** A group's settings, as read at most `settingsTtlMs` ago; `not_found` for an absent group. */
  const settingsOf = (name: string): Promise<Settings> => {
    const now = Date.now();
    const cached = known.get(name);
    if (cached !== undefined && cached.until > now) return cached.settings;
    const settings = groups.info(name).then((info) => info.settings);
    known.set(name, { settings, until: now + settingsTtlMs });
    // A failed read is not kept: the next call asks again.
    settings.catch(() => {
      if (known.get(name)?.settings === settings) known.delete(name);
    });
    if (known.size > 10_000) known.delete(known.keys().next().value!);
    return settings;
  };

  /** Refuses a principal whose prefixes do not cover the group; a token without prefixes covers all. */
  const checkCovers = async (principal: Principal, name: string) => {
    if (principal.streams === undefined) return;
    if (!coversGroup(principal, await settingsOf(name))) {
      throw new AccessDeniedError(
        `token '${principal.name}' may not use group '${name}': its source and scope reach beyond the token's streams`,
      );
    }
  };

  /** Parks what the principal may not read and returns the rest. */
  const keepReadable = async (principal: Principal, name: string, deliveries: GroupDelivery[]): Promise<GroupDelivery[]> => {
    const readable = await acls.readable(principal);
    const kept: GroupDelivery[] = [];
    const hidden: string[] = [];
    for (const delivery of deliveries) {
      const { stream, type } = delivery.event;
      if (covers(principal, stream) && readable(stream, type)) kept.push(delivery);
      else hidden.push(delivery.id);
    }
    if (hidden.length > 0) {
      await groups.nack(name, hidden, { action: 'park', reason: unreadableReason });
      metrics.groupSettles.inc({ group: name, action: 'park' }, hidden.length);
    }
    return kept;
  };

  /** A pull whose deliveries the principal may all read: it pulls again while every one was parked and time is left. */
  const pullReadable = async (
    principal: Principal,
    name: string,
    query: { consumer: string; max: number; waitMs: number },
    signal: AbortSignal,
  ) => {
    const deadline = Date.now() + query.waitMs;
    for (;;) {
      const waitMs = Math.max(0, deadline - Date.now());
      const deliveries = await groups.pull(name, { ...query, waitMs, signal });
      if (deliveries.length === 0) return deliveries;
      const kept = await keepReadable(principal, name, deliveries);
      if (kept.length > 0 || waitMs === 0 || signal.aborted) return kept;
    }
  };

  /** Gives back at once deliveries leased for a consumer that went away before it got them. */
  const giveBack = async (name: string, deliveries: GroupDelivery[]) => {
    if (deliveries.length === 0) return;
    await groups.nack(
      name,
      deliveries.map((delivery) => delivery.id),
      { action: 'retry', reason: 'the consumer disconnected before the delivery was sent' },
    );
  };

  /** Aborts when the client goes away before the response was sent. */
  const disconnectSignal = (reply: FastifyReply) => {
    const controller = new AbortController();
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) controller.abort();
    });
    return controller;
  };

  const settled = (name: string, ids: string[], action: string) => {
    metrics.groupSettles.inc({ group: name, action }, ids.length);
    for (const id of ids) outstanding.get(id)?.release();
  };

  app.put(
    '/groups/:group',
    {
      config: { access: 'admin' },
      schema: {
        summary: 'Create a group, or set its settings',
        description:
          'Full settings: unset fields take their defaults. Creates the group (201); an existing group with the same settings is left as it is (200); one whose mutable settings differ is updated (200), unless `update=false` (then 409, as `groups.create`); a change of `source`, `from` or `scope` is a 409 conflict. A token limited to prefixes confines the group to them (`scope`).',
        tags,
        params: GroupParams,
        querystring: Type.Object({ update: Type.Optional(Type.Union([Type.Literal('true'), Type.Literal('false')])) }, strict),
        body: GroupSettingsInput,
        response: {
          200: Type.Object({ created: Type.Boolean(), settings: GroupSettingsSchema }),
          201: Type.Object({ created: Type.Boolean(), settings: GroupSettingsSchema }),
          ...problems,
        },
      },
    },
    async ({ params, query, body, principal }, reply) => {
      const { group } = params;
      const given = settingsFromBody(body);
      const scope = scopeOfNewGroup(principal, given.scope);
      const settings = { ...given, ...(scope === undefined ? {} : { scope }) };
      known.delete(group);
      try {
        const { created, settings: now } = await groups.create(group, settings);
        if (!created) await checkCovers(principal, group);
        return reply.code(created ? 201 : 200).send({ created, settings: groupSettingsToJson(now) });
      } catch (error) {
        if (!(error instanceof ConflictError) || query.update === 'false') throw error;
      }
      // The group exists with other settings: the mutable ones may change, the fixed ones may not.
      await checkCovers(principal, group);
      const existing = (await groups.info(group)).settings;
      const wanted = checkGroupSettings(settings);
      const from = wanted.from === undefined || wanted.from === 'start' ? 0n : wanted.from;
      const fixed = [
        JSON.stringify(wanted.source ?? {}) !== JSON.stringify(existing.source) && 'source',
        wanted.from !== 'end' && from !== existing.from && 'from',
        JSON.stringify(wanted.scope ?? null) !== JSON.stringify(existing.scope ?? null) && 'scope',
      ].filter((field) => field !== false);
      if (fixed.length > 0) {
        throw new ConflictError(
          `${fixed.join(', ')} of group '${group}' cannot change; delete the group and create it again, or create another`,
        );
      }
      const mutable = Object.fromEntries(mutableKeys.map((key) => [key, wanted[key] ?? defaultGroupSettings[key]]));
      const updated = await groups.update(group, mutable);
      known.delete(group);
      return reply.code(200).send({ created: false, settings: groupSettingsToJson(updated) });
    },
  );

  app.patch(
    '/groups/:group',
    {
      config: { access: 'admin' },
      schema: {
        summary: "Change some of a group's settings",
        description: 'Unset fields stay as they are; a change of `source`, `from` or `scope` is a 409 conflict.',
        tags,
        params: GroupParams,
        body: GroupSettingsInput,
        response: { 200: GroupSettingsSchema, ...problems },
      },
    },
    async ({ params, body, principal }) => {
      await checkCovers(principal, params.group);
      const updated = await groups.update(params.group, settingsFromBody(body));
      known.delete(params.group);
      return groupSettingsToJson(updated);
    },
  );

  app.get(
    '/groups/:group',
    {
      config: { access: 'reader' },
      schema: {
        summary: 'A group: settings, checkpoint, lag, consumers',
        tags,
        params: GroupParams,
        response: { 200: GroupInfo, ...problems },
      },
    },
    async ({ params, principal }) => {
      const info = await groups.info(params.group);
      if (!coversGroup(principal, info.settings))
        throw new AccessDeniedError(`token '${principal.name}' may not use group '${params.group}'`);
      return groupInfoToJson(info);
    },
  );

  app.delete(
    '/groups/:group',
    {
      config: { access: 'admin' },
      schema: { summary: 'Delete a group and everything it holds', tags, params: GroupParams, response: { 204: Type.Null(), ...problems } },
    },
    async ({ params, principal }, reply) => {
      await checkCovers(principal, params.group);
      await groups.delete(params.group);
      known.delete(params.group);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/groups',
    {
      config: { access: 'reader' },
      schema: {
        summary: 'List groups',
        description: 'Every group the token covers, in name order.',
        tags,
        response: { 200: Type.Object({ groups: Type.Array(GroupInfo) }), ...problems },
      },
    },
    async ({ principal }) => ({
      groups: (await groups.list()).filter((info) => coversGroup(principal, info.settings)).map(groupInfoToJson),
    }),
  );

  app.post(
    '/groups/:group/pull',
    {
      config: { access: 'reader' },
      schema: {
        summary: 'Lease deliveries (long poll)',
        description: 'Waits up to `waitMs` (at most 30,000) for the first delivery. A client that disconnects ends the wait.',
        tags,
        params: GroupParams,
        body: Type.Object(
          {
            consumer: Name,
            max: Type.Optional(Type.Integer({ minimum: 1, maximum: maxPullSize })),
            waitMs: Type.Optional(Type.Integer({ minimum: 0, maximum: maxWaitMs })),
          },
          strict,
        ),
        response: { 200: Type.Object({ deliveries: Type.Array(DeliverySchema) }), ...problems },
      },
    },
    async ({ params, body, principal }, reply) => {
      const { group } = params;
      await checkCovers(principal, group);
      const gone = disconnectSignal(reply);
      const deliveries = await pullReadable(
        principal,
        group,
        { consumer: body.consumer, max: body.max ?? 100, waitMs: body.waitMs ?? 0 },
        gone.signal,
      );
      if (gone.signal.aborted) {
        // Nobody will read the answer: what was leased for it goes back at once instead of at its timeout.
        await giveBack(group, deliveries);
        return { deliveries: [] };
      }
      metrics.groupDeliveries.inc({ group }, deliveries.length);
      // Written out directly, as reads are: the response schema documents it, the text is sent as it is.
      const text = `{"deliveries":[${deliveries.map(deliveryToJsonText).join(',')}]}`;
      return reply.type('application/json; charset=utf-8').send(text as never);
    },
  );

  app.post(
    '/groups/:group/ack',
    {
      config: { access: 'reader' },
      schema: {
        summary: 'Acknowledge deliveries',
        tags,
        params: GroupParams,
        body: Type.Object({ ids: DeliveryIds }, strict),
        response: { 200: SettleResult, ...problems },
      },
    },
    async ({ params, body, principal }) => {
      await checkCovers(principal, params.group);
      const result = await groups.ack(params.group, body.ids);
      settled(params.group, body.ids, 'ack');
      return result;
    },
  );

  app.post(
    '/groups/:group/nack',
    {
      config: { access: 'reader' },
      schema: {
        summary: 'Give deliveries back: retry, park or skip them',
        tags,
        params: GroupParams,
        body: Type.Object(
          {
            ids: DeliveryIds,
            action: oneOf(nackActions),
            reason: Type.Optional(Type.String({ maxLength: 1024 })),
          },
          strict,
        ),
        response: { 200: SettleResult, ...problems },
      },
    },
    async ({ params, body, principal }) => {
      await checkCovers(principal, params.group);
      const action = body.action as NackAction;
      const result = await groups.nack(params.group, body.ids, { action, ...(body.reason === undefined ? {} : { reason: body.reason }) });
      settled(params.group, body.ids, action);
      return result;
    },
  );

  app.post(
    '/groups/:group/extend',
    {
      config: { access: 'reader' },
      schema: {
        summary: 'Keep the leases of deliveries for `ms` more from now',
        tags,
        params: GroupParams,
        body: Type.Object({ ids: DeliveryIds, ms: Type.Integer({ minimum: 1 }) }, strict),
        response: { 200: SettleResult, ...problems },
      },
    },
    async ({ params, body, principal }) => {
      await checkCovers(principal, params.group);
      const result = await groups.extend(params.group, body.ids, body.ms);
      for (const id of result.settled) outstanding.get(id)?.extend(body.ms);
      return result;
    },
  );

  app.get(
    '/groups/:group/parked',
    {
      config: { access: 'reader' },
      schema: {
        summary: 'Parked events, a page at a time',
        description: 'In position order; events of streams the token may not read are left out.',
        tags,
        params: GroupParams,
        querystring: Type.Object(
          {
            after: Type.Optional(Position),
            limit: Type.Optional(Type.String({ pattern: '^([1-9][0-9]{0,2}|1000)$', description: 'an integer from 1 to 1000' })),
          },
          strict,
        ),
        response: { 200: ParkedPage, ...problems },
      },
    },
    async ({ params, query, principal }) => {
      await checkCovers(principal, params.group);
      const page = await groups.parked(params.group, {
        ...(query.after === undefined ? {} : { after: query.after }),
        ...(query.limit === undefined ? {} : { limit: Number(query.limit) }),
      });
      const readable = await acls.readable(principal);
      return parkedPageToJson({
        ...page,
        parked: page.parked.filter(({ event }) => covers(principal, event.stream) && readable(event.stream, event.type)),
      });
    },
  );

  app.post(
    '/groups/:group/parked/replay',
    {
      config: { access: 'admin' },
      schema: {
        summary: 'Queue parked events again at attempt 1',
        description: 'The parked events at these positions (`ids`), or the first `limit` of them (all by default, at most 10,000).',
        tags,
        params: GroupParams,
        body: ParkedSelection,
        response: { 200: Type.Object({ replayed: Type.Integer() }), ...problems },
      },
    },
    async ({ params, body, principal }) => {
      await checkCovers(principal, params.group);
      return groups.replayParked(params.group, body ?? {});
    },
  );

  app.delete(
    '/groups/:group/parked',
    {
      config: { access: 'admin' },
      schema: {
        summary: 'Delete parked events',
        description:
          'The parked events at these positions (`ids`, in the body or the query), or the first `limit` (all by default, at most 10,000).',
        tags,
        params: GroupParams,
        querystring: ParkedDeleteQuery,
        body: ParkedSelection,
        response: { 200: Type.Object({ deleted: Type.Integer() }), ...problems },
      },
    },
    async ({ params, query, body, principal }) => {
      await checkCovers(principal, params.group);
      const fromQuery = {
        ...(query.ids === undefined ? {} : { ids: Array.isArray(query.ids) ? query.ids : [query.ids] }),
        ...(query.limit === undefined ? {} : { limit: Number(query.limit) }),
      };
      return groups.deleteParked(params.group, { ...fromQuery, ...body });
    },
  );

  app.post(
    '/groups/:group/replay',
    {
      config: { access: 'admin' },
      schema: {
        summary: 'Deliver a past range again, to this group only',
        description: '`from` and `to` are inclusive positions; `to` defaults to the checkpoint. One replay at a time (a second is 409).',
        tags,
        params: GroupParams,
        body: Type.Object(
          { from: Position, to: Type.Optional(Position), stream: Type.Optional(Name), category: Type.Optional(Name) },
          strict,
        ),
        response: { 200: Type.Object({ from: Type.String(), to: Type.String() }), ...problems },
      },
    },
    async ({ params, body, principal }) => {
      await checkCovers(principal, params.group);
      const { from, to } = await groups.replay(params.group, body);
      return { from: String(from), to: String(to) };
    },
  );

  app.get(
    '/subscribe/groups/:group',
    {
      config: { access: 'reader' },
      schema: {
        summary: 'Deliveries pushed over Server-Sent Events',
        description:
          '`event: delivery` with a Delivery as `data:` per delivery; at most `max` (default 10) unsettled deliveries outstanding on the connection, a credit coming back as each is acked or nacked through this server (or its lease times out); heartbeats as comments. A disconnect does not release leases.',
        tags: ['groups', 'subscriptions'],
        params: GroupParams,
        querystring: Type.Object(
          {
            consumer: Name,
            max: Type.Optional(Type.String({ pattern: '^([1-9][0-9]{0,2}|1000)$', description: 'an integer from 1 to 1000' })),
          },
          strict,
        ),
      },
    },
    async (request, reply) => {
      const { group } = request.params;
      const { principal } = request;
      const consumer = request.query.consumer;
      const max = request.query.max === undefined ? 10 : Number(request.query.max);
      await checkCovers(principal, group);
      const { ackTimeoutMs } = await settingsOf(group);
      return pushDeliveries(request, reply, { group, consumer, max, ackTimeoutMs, principal });
    },
  );

  const pushDeliveries = async (
    request: FastifyRequest,
    reply: FastifyReply,
    {
      group,
      consumer,
      max,
      ackTimeoutMs,
      principal,
    }: { group: string; consumer: string; max: number; ackTimeoutMs: number; principal: Principal },
  ) => {
    const controller = new AbortController();
    let credits = max;
    let wake: (() => void) | undefined;
    const mine = new Map<string, NodeJS.Timeout>();
    const release = (id: string) => {
      const timer = mine.get(id);
      if (timer === undefined) return;
      clearTimeout(timer);
      mine.delete(id);
      outstanding.delete(id);
      credits++;
      wake?.();
    };
    const hold = (id: string, ms: number) => {
      clearTimeout(mine.get(id));
      mine.set(
        id,
        setTimeout(() => release(id), ms),
      );
    };
    const { response, stopHeartbeat } = openEventStream(request, reply, heartbeatMs);
    const stop = () => {
      controller.abort();
      wake?.();
    };
    const end = async () => {
      stop();
      await ended;
    };
    subscriptions.add(end);
    metrics.subscriptions.inc();
    response.on('close', stop);
    const run = async () => {
      try {
        while (!controller.signal.aborted) {
          if (credits <= 0) {
            await new Promise<void>((resolve) => (wake = resolve));
            wake = undefined;
            continue;
          }
          const deliveries = await pullReadable(principal, group, { consumer, max: credits, waitMs: maxWaitMs }, controller.signal);
          if (controller.signal.aborted || response.destroyed) {
            await giveBack(group, deliveries);
            break;
          }
          for (const delivery of deliveries) {
            credits--;
            hold(delivery.id, ackTimeoutMs);
            outstanding.set(delivery.id, { release: () => release(delivery.id), extend: (ms) => hold(delivery.id, ms) });
            response.write(`event: delivery\ndata: ${deliveryToJsonText(delivery)}\n\n`);
          }
          metrics.groupDeliveries.inc({ group }, deliveries.length);
        }
      } catch (error) {
        if (!response.destroyed) writeStreamProblem(request, response, error, 'the push of a group');
      } finally {
        stopHeartbeat();
        for (const [id, timer] of mine) {
          clearTimeout(timer);
          outstanding.delete(id);
        }
        subscriptions.delete(end);
        metrics.subscriptions.dec();
        response.end();
      }
    };
    const ended = run();
    await ended;
  };
};
