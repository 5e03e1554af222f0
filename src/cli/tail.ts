import { isCaughtUp, isEvent } from '../store/model.js';
import { recordedToJson } from '../protocol/wire.js';
import {
  allStream,
  clientCommand,
  countOf,
  filterOf,
  filterOptions,
  fromOf,
  printLine,
  refuseFiltersOnStream,
  withClient,
  type ConnectionOptions,
} from './options.js';

interface TailOptions extends ConnectionOptions {
  from: string;
  limit?: string;
  types?: string;
  streams?: string;
  category?: string;
}

export const tailCommand = () =>
  filterOptions(
    clientCommand('tail', 'follow a stream, or the global log ($all), printing each event as an NDJSON line until interrupted')
      .argument('<stream>', `a stream name, or ${allStream} for the global log`)
      .option('--from <from>', 'start after this revision (stream) or position ($all); start replays everything', 'end')
      .option('--limit <n>', 'stop after this many events'),
  )
    .addHelpText(
      'after',
      `
The end of history is reported on stderr. Examples:
  annals tail order-42 --from start
  annals tail '${allStream}' --category order`,
    )
    .action(async (stream: string, options: TailOptions) => {
      refuseFiltersOnStream(stream, options);
      const limit = countOf('--limit', options.limit);
      const controller = new AbortController();
      process.once('SIGINT', () => controller.abort());
      process.once('SIGTERM', () => controller.abort());
      await withClient(options, async (store) => {
        const subscription =
          stream === allStream
            ? store.subscribe({ from: fromOf(options.from, true), filter: filterOf(options), signal: controller.signal })
            : store.subscribe({ stream, from: fromOf(options.from, false), signal: controller.signal });
        let printed = 0;
        for await (const message of subscription) {
          if (isCaughtUp(message)) process.stderr.write('caught up; following live events\n');
          else if (isEvent(message)) printLine(recordedToJson(message));
          if (isEvent(message) && ++printed === limit) break;
        }
      });
    });
