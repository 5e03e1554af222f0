import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { describeGroupProperties } from '../../bus/groups/conformance/properties.js';
import { describeGroupConformance } from '../../bus/groups/conformance/suite.js';
import type { EventStore } from '../../store/event-store.js';
import { openEventStore } from '../open.js';

const dir = mkdtempSync(join(tmpdir(), 'annals-sqlite-groups-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let count = 0;

/** Stores by the file they are on, so that a restart can open the same file again. */
const paths = new WeakMap<EventStore, string>();
const openAt = async (path: string) => {
  const store = await openEventStore({ engine: 'sqlite', path });
  paths.set(store, path);
  return store;
};
const options = {
  open: () => openAt(join(dir, `groups-${++count}.db`)),
  reopen: async (store: EventStore) => {
    await store.close();
    return openAt(paths.get(store)!);
  },
};

describeGroupConformance('sqlite', options);
describeGroupProperties('sqlite', options);
