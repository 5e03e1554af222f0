/**
 * The registry's atomic rules across servers: two stores on one PostgreSQL schema (as two Annals servers
 * would be) racing to write replays and to claim requests.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openEventStore } from '../open.js';
import { describeReportForgetting, runnerReport } from '../../projection/registry/conformance/suite.js';
import type { EventStore } from '../../store/event-store.js';
import { dropSchema, freshSchema, openTestPostgresEngine, postgresSkipReason, postgresTestUrl } from './testing/test-database.js';

const skip = await postgresSkipReason();

describe('postgres projection registry, two servers on one schema', { skip }, () => {
  const schema = freshSchema();
  let stores: EventStore[];
  before(async () => {
    stores = [
      await openEventStore({ engine: 'postgres', url: postgresTestUrl(), schema }),
      await openEventStore({ engine: 'postgres', url: postgresTestUrl(), schema }),
    ];
    await stores[0]!.projections.report(runnerReport());
  });
  after(async () => {
    await Promise.all(stores.map((store) => store.close()));
    await dropSchema(schema);
  });

  it('of replays asked at once, one is written; the others are conflicts naming it', async () => {
    const answers = await Promise.allSettled(Array.from({ length: 8 }, (_, index) => stores[index % 2]!.projections.replay('orders')));
    const written = answers.filter((answer) => answer.status === 'fulfilled');
    assert.equal(written.length, 1);
    const { requestId } = written[0]!.value;
    for (const answer of answers) {
      if (answer.status === 'rejected')
        assert.match((answer.reason as Error).message, new RegExp(`a replay of orders is pending: ${requestId}`));
    }
    await stores[0]!.projections.claim('orders', 'runner-a');
    await stores[0]!.projections.settle('orders', requestId, { state: 'done', runnerId: 'runner-a' });
  });

  it('each request is claimed by one runner, whichever server it asks', async () => {
    const asked = [];
    for (let index = 0; index < 6; index++) asked.push((await stores[index % 2]!.projections.pause('orders')).requestId);
    const claims = await Promise.all(
      Array.from({ length: 12 }, (_, index) => stores[index % 2]!.projections.claim('orders', `runner-${index}`)),
    );
    const claimed = claims.filter((request) => request !== undefined);
    assert.equal(new Set(claimed.map((request) => request.requestId)).size, claimed.length);
    // A claim that met a row another was taking may come back empty: whatever is left is claimed next.
    for (
      let request = await stores[1]!.projections.claim('orders', 'late');
      request !== undefined;
      request = await stores[1]!.projections.claim('orders', 'late')
    ) {
      claimed.push(request);
    }
    assert.deepEqual(claimed.map((request) => request.requestId).sort(), asked.sort());
  });
});

describe('postgres projection registry engine', { skip }, () => {
  describeReportForgetting('postgres', async () => {
    const { engine, drop } = await openTestPostgresEngine();
    return {
      engine,
      close: async () => {
        await engine.close();
        await drop();
      },
    };
  });
});
