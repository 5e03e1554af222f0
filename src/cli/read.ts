import type { RecordedEvent } from '../store/model.js';
import { recordedToJson } from '../protocol/wire.js';
import { NotFoundError } from '../store/errors.js';
import {
  allStream,
  clientCommand,
  filterOf,
  filterOptions,
  fromOf,
  printLine,
  countOf,
  refuseFiltersOnStream,
  withClient,
  type ConnectionOptions,
} from './options.js';

interface ReadOptions extends ConnectionOptions {
  from?: string;
  backwards?: boolean;
  limit?: string;
  types?: string;
  streams?: string;
  category?: string;
}

export const readCommand = () =>
  filterOptions(
    clientCommand('read', 'print the events of a stream, or of the global log ($all), as NDJSON')
      .argument('<stream>', `a stream name, or ${allStream} for the global log`)
      .option('--from <from>', 'first revision (stream) or position ($all) to read, inclusive; or start, end')
      .option('--backwards', 'read from the end towards the start')
      .option('--limit <n>', 'read at most this many events'),
  )
    .addHelpText(
      'after',
      `
Filters apply to ${allStream} only. Examples:
  annals read order-42
  annals read '${allStream}' --category order --limit 100`,
    )
    .action(async (stream: string, options: ReadOptions) => {
      refuseFiltersOnStream(stream, options);
      const direction = options.backwards ? ('backwards' as const) : ('forwards' as const);
      const limit = countOf('--limit', options.limit);
      await withClient(options, async (store) => {
        const events: AsyncIterable<RecordedEvent> =
          stream === allStream
            ? store.iterateAll({ from: fromOf(options.from, true), direction, limit, filter: filterOf(options) })
            : store.iterateStream(stream, { from: fromOf(options.from, false), direction, limit });
        let read = 0;
        for await (const event of events) {
          printLine(recordedToJson(event));
          read++;
        }
        if (read === 0 && stream !== allStream && (await store.readStream(stream, { direction: 'backwards', limit: 1 })).length === 0) {
          throw new NotFoundError(`stream '${stream}' does not exist (or was deleted)`);
        }
      });
    });
