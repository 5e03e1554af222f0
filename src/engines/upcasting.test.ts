/**
 * Upcasting on the embedded store: a store with upcasters reads what one without them wrote. On SQLite it
 * is a second store opened on the same file; in memory, a second store over the same engine.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { describeUpcasting } from '../store/conformance/upcasting.js';
import { createEventStore } from '../store/create-store.js';
import { InvalidArgumentError } from '../store/errors.js';
import type { EventStore } from '../store/event-store.js';
import { defaultLimits } from '../store/limits.js';
import { createMemoryEngine } from './memory/engine.js';
import { openEventStore } from './open.js';

const dir = mkdtempSync(join(tmpdir(), 'annals-upcasting-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let count = 0;

describeUpcasting('memory', async (upcasters) => {
  const engine = createMemoryEngine();
  const writer = createEventStore(engine);
  const reader = createEventStore(engine, defaultLimits, upcasters);
  return { writer, reader: async () => reader, close: async () => (await reader.close(), await writer.close()) };
});

describeUpcasting('sqlite, a second store on the same file', async (upcasters) => {
  const path = join(dir, `store-${++count}.db`);
  const writer = await openEventStore({ engine: 'sqlite', path });
  let reader: EventStore | undefined;
  return {
    writer,
    async reader() {
      await writer.close();
      return (reader ??= await openEventStore({ engine: 'sqlite', path, upcasters }));
    },
    close: async () => (await writer.close(), await reader?.close()),
  };
});

it('refuses upcasters that are not an object of functions before it opens anything', async () => {
  const path = join(dir, 'never.db');
  await assert.rejects(
    openEventStore({ engine: 'sqlite', path, upcasters: { 'Placed.v1': 'Placed.v2' } as never }),
    (error: unknown) =>
      error instanceof InvalidArgumentError &&
      /^upcasters\['Placed\.v1'\] is 'Placed\.v2'; allowed: an object of functions/.test(error.message),
  );
  assert.equal(existsSync(path), false);
});
