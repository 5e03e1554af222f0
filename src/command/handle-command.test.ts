import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { openEventStore } from '../engines/open.js';
import type { EventStore } from '../store/event-store.js';
import { account, describeCommandConformance } from './conformance/suite.js';
import { handleCommand } from './handle-command.js';
import { createStateCache } from './state-cache.js';
import { describeSnapshotConformance } from './snapshots/conformance/suite.js';

const dir = mkdtempSync(join(tmpdir(), 'annals-commands-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let count = 0;

describeCommandConformance('memory', () => openEventStore({ engine: 'memory' }));
describeCommandConformance('sqlite', () => openEventStore({ engine: 'sqlite', path: join(dir, `commands-${++count}.db`) }));
describeSnapshotConformance('memory', () => openEventStore({ engine: 'memory' }));
describeSnapshotConformance('sqlite', () => openEventStore({ engine: 'sqlite', path: join(dir, `snapshots-${++count}.db`) }));

describe('handleCommand with a state cache', () => {
  it('loads a stream once while its writes come through the cache', async () => {
    const store = await openEventStore({ engine: 'memory' });
    let loads = 0;
    const counting = new Proxy(store, {
      get: (target, key, receiver) =>
        key === 'iterateStream'
          ? (...args: Parameters<EventStore['iterateStream']>) => (loads++, target.iterateStream(...args))
          : Reflect.get(target, key, receiver),
    });
    const cache = createStateCache({ maxEntries: 2 });
    await handleCommand(counting, 'account-1', { kind: 'open', owner: 'ada' }, account, { cache });
    for (let amount = 1; amount <= 5; amount++) await handleCommand(counting, 'account-1', { kind: 'deposit', amount }, account, { cache });
    assert.equal(loads, 1);
    for (const stream of ['account-2', 'account-3'])
      await handleCommand(counting, stream, { kind: 'open', owner: 'bo' }, account, { cache });
    assert.equal(cache.size, 2, 'the least recently used stream made room');
    await handleCommand(counting, 'account-1', { kind: 'deposit', amount: 1 }, account, { cache });
    assert.equal(loads, 4);
    await store.close();
  });

  it('refuses a bad size by name', () => {
    assert.throws(() => createStateCache({ maxEntries: 0 }), /maxEntries is 0; allowed: a positive integer/);
  });
});
