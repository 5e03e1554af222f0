/**
 * A consumer process for end-to-end tests of consumer groups: pulls from a server with the client, "handles"
 * each batch for a while, acks it, and reports on stdout, one JSON line each: `{ got, attempt }` for each
 * delivery and `{ acked }` once the server has confirmed a settle. Server outages are waited out.
 *
 * Arguments: url, group, consumer name, handling time in ms.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { connect } from '../../client/connect.js';
import { UnavailableError } from '../../store/errors.js';

const [url, group, consumer, handleMs] = process.argv.slice(2) as [string, string, string, string];
const store = connect(url);
const report = (line: object) =>
  process.stdout.write(`${JSON.stringify(line, (_key, value) => (typeof value === 'bigint' ? String(value) : value))}\n`);

const outlasting = async <T>(call: () => Promise<T>): Promise<T | undefined> => {
  try {
    return await call();
  } catch (error) {
    if (!(error instanceof UnavailableError)) throw error;
    await sleep(50);
    return undefined;
  }
};

process.on('SIGTERM', () => void store.close().then(() => process.exit(0)));
report({ ready: consumer });
for (;;) {
  const deliveries = (await outlasting(() => store.groups.pull(group, { consumer, max: 10, waitMs: 1_000 }))) ?? [];
  if (deliveries.length === 0) continue;
  for (const { event, attempt } of deliveries) report({ got: event.position, attempt });
  await sleep(Number(handleMs));
  const result = await outlasting(() =>
    store.groups.ack(
      group,
      deliveries.map((delivery) => delivery.id),
    ),
  );
  // An ack cut off by an outage may have been settled before it: the server's word is lost with it.
  if (result === undefined) report({ unanswered: deliveries.map((delivery) => delivery.event.position) });
  else {
    const settled = new Set(result.settled);
    report({ acked: deliveries.filter((delivery) => settled.has(delivery.id)).map((delivery) => delivery.event.position) });
  }
}
