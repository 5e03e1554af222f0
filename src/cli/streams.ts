import { streamInfoToJson } from '../protocol/wire.js';
import { clientCommand, countOf, printRows, withClient, type ConnectionOptions } from './options.js';

interface StreamsOptions extends ConnectionOptions {
  prefix?: string;
  after?: string;
  limit?: string;
}

export const streamsCommand = () =>
  clientCommand('streams', 'list streams in name order: last revision, last position, deleted')
    .option('--prefix <prefix>', 'only streams whose names start with this')
    .option('--after <name>', 'start after this name (the last one of the page before)')
    .option('--limit <n>', 'at most this many (1 to 1000)', '100')
    .addHelpText(
      'after',
      `
Examples:
  annals streams --prefix order-
  annals streams --json | jq -r .stream`,
    )
    .action(async (options: StreamsOptions) => {
      await withClient(options, async (store) => {
        const listed = await store.listStreams({ prefix: options.prefix, after: options.after, limit: countOf('--limit', options.limit) });
        printRows(
          options,
          ['stream', 'revision', 'position', 'deleted'],
          listed.map(streamInfoToJson) as unknown as Record<string, unknown>[],
        );
      });
    });
