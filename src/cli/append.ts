import { createInterface } from 'node:readline';
import { InvalidArgumentError } from '../store/errors.js';
import type { EventInput } from '../store/model.js';
import { expectedRevisionOf } from '../protocol/wire.js';
import { clientCommand, printLine, withClient, type ConnectionOptions } from './options.js';

interface AppendOptions extends ConnectionOptions {
  type?: string;
  data?: string;
  metadata?: string;
  id?: string;
  expectedRevision?: string;
}

const parseJson = (what: string, text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    throw new InvalidArgumentError(`${what} is not JSON: ${text.slice(0, 80)}`);
  }
};

const eventsFromStdin = async (): Promise<EventInput[]> => {
  const events: EventInput[] = [];
  let line = 0;
  for await (const text of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
    line++;
    if (text.trim() !== '') events.push(parseJson(`line ${line} of stdin`, text) as EventInput);
  }
  return events;
};

export const appendCommand = () =>
  clientCommand('append', 'append one event given by flags, or NDJSON events from stdin, in one all-or-nothing append')
    .argument('<stream>', 'the stream to append to')
    .option('--type <type>', 'the event type (without it, events are read from stdin, one JSON object per line)')
    .option('--data <json>', 'the event data, as JSON', '{}')
    .option('--metadata <json>', 'the event metadata, a JSON object')
    .option('--id <uuid>', 'the event id (generated when missing; give it to make a retry safe)')
    .option('--expected-revision <revision>', 'any, no_stream, stream_exists or a revision number')
    .addHelpText(
      'after',
      `
Examples:
  annals append order-42 --type OrderPlaced --data '{"total":30}' --expected-revision no_stream
  printf '%s\\n' '{"type":"A","data":1}' '{"type":"B","data":2}' | annals append order-43`,
    )
    .action(async (stream: string, options: AppendOptions) => {
      const events =
        options.type === undefined
          ? await eventsFromStdin()
          : [
              {
                type: options.type,
                data: parseJson('--data', options.data ?? '{}'),
                ...(options.metadata === undefined ? {} : { metadata: parseJson('--metadata', options.metadata) }),
                ...(options.id === undefined ? {} : { id: options.id }),
              } as EventInput,
            ];
      await withClient(options, async (store) => {
        const result = await store.append(stream, events, { expectedRevision: expectedRevisionOf(options.expectedRevision) });
        printLine({ revision: result.revision, position: String(result.position) });
      });
    });
