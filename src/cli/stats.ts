import { statsToJson } from '../protocol/wire.js';
import { clientCommand, printLine, withClient, type ConnectionOptions } from './options.js';

export const statsCommand = () =>
  clientCommand('stats', 'print the size of the store: engine, events, live streams, head position').action(
    async (options: ConnectionOptions) => {
      await withClient(options, async (store) => {
        printLine(statsToJson(await store.stats()));
      });
    },
  );
