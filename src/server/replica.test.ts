/**
 * Replicas over real HTTP on loopback: a server that follows another serves the same log at the same
 * positions, refuses writes and what is not replicated, says how far behind it is, survives its own and
 * its primary's restarts, and takes writes once promoted.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { connect } from '../client/connect.js';
import { openEventStore } from '../engines/open.js';
import type { EventStore } from '../store/event-store.js';
import { isEvent } from '../store/model.js';
import { createServer } from './server.js';
import { listenForTest, serveForTest } from './testing/serve.js';
import { until } from '../testing/until.js';

const dir = mkdtempSync(join(tmpdir(), 'annals-replica-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const everything = { filter: { includeSystem: true } };
const events = (count: number) => Array.from({ length: count }, (_, index) => ({ type: 'Happened', data: { index } }));

/** A replica server of `primaryUrl` on `store`, and a client of it. */
const serveReplica = async (store: EventStore, primaryUrl: string, port = 0) => {
  const server = await createServer({ store, authenticator: undefined, replicaOf: { source: connect(primaryUrl), primary: primaryUrl } });
  const url = await listenForTest(server, port);
  return { server, url, client: connect(url) };
};

const levelWith = (replica: EventStore, primary: EventStore) =>
  until(async () => (await replica.stats()).headPosition === (await primary.stats()).headPosition, 'the replica to catch up');

describe('replicas', () => {
  it('serve the primary log at its positions, refuse writes and what is not replicated, and report their lag', async () => {
    const primary = await serveForTest(await openEventStore({ engine: 'memory' }));
    await primary.client.append('order-1', events(3));
    await primary.client.setMetadata('order-1', { custom: { team: 'sales' } });
    const replica = await serveReplica(await openEventStore({ engine: 'memory' }), primary.url);
    try {
      await levelWith(replica.client, primary.client);
      const live = replica.client.subscribe({ from: 'end' });
      const arriving = (async () => {
        for await (const message of live) if (isEvent(message)) return message;
      })();
      await new Promise((resolve) => setTimeout(resolve, 100));
      const { position } = await primary.client.append('order-2', events(1));
      assert.equal((await arriving)?.position, position, 'a subscriber of the replica hears a new event of the primary');
      await live.close();
      assert.deepEqual(await replica.client.readAll(everything), await primary.client.readAll(everything));
      assert.deepEqual(await replica.client.getMetadata('order-1'), { custom: { team: 'sales' } });

      const write = await fetch(`${replica.url}/streams/order-3`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ events: events(1) }),
      });
      assert.equal(write.status, 503);
      assert.equal(((await write.json()) as { reason: string }).reason, 'replica');
      const groups = await fetch(`${replica.url}/groups`);
      assert.equal(groups.status, 503);
      assert.match(((await groups.json()) as { detail: string }).detail, /consumer groups, snapshots and projections live on its primary/);

      const ready = (await (await fetch(`${replica.url}/health/ready`)).json()) as {
        status: string;
        reason: string;
        replica: { primary: string; live: boolean; lagSeconds: number; appliedPosition: string };
      };
      assert.deepEqual(
        [ready.status, ready.reason, ready.replica.primary, ready.replica.live],
        ['read_only', 'replica', primary.url, true],
      );
      assert.equal(ready.replica.appliedPosition, String(position));
      const [primaryStats, replicaStats] = [await primary.client.stats(), await replica.client.stats()];
      assert.deepEqual([replicaStats.storeId, replicaStats.epoch], [primaryStats.storeId, primaryStats.epoch]);
      const metrics = await (await fetch(`${replica.url}/metrics`)).text();
      assert.match(metrics, /^annals_replica_lag_seconds 0$/m);
      assert.match(metrics, /^annals_replica_live 1$/m);
      assert.match(metrics, /annals_read_only\{reason="replica"\} 1/);
    } finally {
      await replica.client.close();
      await replica.server.close();
      await primary.client.close();
    }
  });

  it('follow again after their own restart and their primary restart, and take writes once promoted', async () => {
    const primaryPath = join(dir, 'primary.db');
    const replicaPath = join(dir, 'replica.db');
    let primary = await serveForTest(await openEventStore({ path: primaryPath }));
    const primaryPort = Number(new URL(primary.url).port);
    await primary.client.append('order-1', events(2));
    let replica = await serveReplica(await openEventStore({ path: replicaPath }), primary.url);
    try {
      await levelWith(replica.client, primary.client);
      await replica.client.close();
      await replica.server.close();
      await primary.client.append('order-1', events(2));
      replica = await serveReplica(await openEventStore({ path: replicaPath }), primary.url);
      await levelWith(replica.client, primary.client);

      await primary.client.close();
      const down = await until(async () => {
        const ready = (await (await fetch(`${replica.url}/health/ready`)).json()) as { replica: { live: boolean; lagSeconds: number } };
        return !ready.replica.live && ready.replica.lagSeconds > 0;
      }, 'the replica to notice its primary is gone').then(() => true);
      assert.ok(down);
      const server = await createServer({ store: await openEventStore({ path: primaryPath }), authenticator: undefined });
      await listenForTest(server, primaryPort);
      primary = { server, url: primary.url, client: connect(primary.url) } as typeof primary;
      await primary.client.append('order-2', events(1));
      await levelWith(replica.client, primary.client);
      assert.deepEqual(await replica.client.readAll(everything), await primary.client.readAll(everything));

      const promoted = (await (await fetch(`${replica.url}/replica/promote`, { method: 'POST' })).json()) as {
        epoch: number;
        epochStart: string;
      };
      const head = (await primary.client.stats()).headPosition;
      assert.deepEqual(promoted.epoch, 2);
      assert.equal(promoted.epochStart, String(head));
      const { position } = await replica.client.append('order-3', events(1));
      assert.equal(position, head + 1n);
      assert.equal((await fetch(`${replica.url}/groups`)).status, 200);
      assert.equal((await fetch(`${replica.url}/replica/promote`, { method: 'POST' })).status, 409);
    } finally {
      await replica.client.close();
      await replica.server.close();
      await primary.client.close();
      await primary.server.close();
    }
  });
});
