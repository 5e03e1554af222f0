/**
 * The child of the crash test: appends under load until it is killed, and reports each append on stdout
 * only once it is acknowledged. `node --import tsx crash-writer.ts <file> <fsync|os> <seed>`
 */
import { randomUUID } from 'node:crypto';
import { openEventStore } from '../../open.js';
import type { EventInput } from '../../../store/model.js';
import { seededRandom } from '../../../testing/seed.js';

const [path, durability, seed] = process.argv.slice(2) as [string, 'fsync' | 'os', string];
const random = seededRandom(Number(seed));
const store = await openEventStore({ engine: 'sqlite', path, durability });
const callers = 32;

/** Callers below half write their own stream with exact expected revisions; the rest share a few streams. */
const writeForever = async (caller: number) => {
  const own = caller < callers / 2;
  const stream = own ? `own-${caller}` : `shared-${caller % 4}`;
  let revision = own ? ((await store.readStream(stream, { direction: 'backwards', limit: 1 }))[0]?.revision ?? -1) : -1;
  for (;;) {
    const append = randomUUID();
    const count = 1 + Math.floor(random() * 5);
    const events: EventInput[] = Array.from({ length: count }, (_, index) => ({
      id: randomUUID(),
      type: 'Written',
      data: { append, index, count, padding: 'x'.repeat(Math.floor(random() * 300)) },
    }));
    const result = await store.append(stream, events, { expectedRevision: own ? (revision === -1 ? 'no_stream' : revision) : 'any' });
    revision = result.revision;
    process.stdout.write(
      `${JSON.stringify({ stream, ids: events.map((event) => event.id), revision, position: String(result.position) })}\n`,
    );
  }
};

process.stdout.write('ready\n');
await Promise.all(Array.from({ length: callers }, (_, caller) => writeForever(caller)));
