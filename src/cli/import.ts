/**
 * `annals import --file FILE`: the events of an export into a store, in batches, keeping their positions
 * where the target allows it (src/cli/transfer/plan.ts); run again after an interruption, it goes on.
 */
import { Command } from 'commander';
import { InvalidArgumentError } from '../store/errors.js';
import { openExportFile } from './transfer/export-file.js';
import { positionsOf, positionsOption } from './transfer/plan.js';
import { addSideOptions, openSide } from './transfer/sides.js';
import { transfer } from './transfer/transfer.js';

interface ImportOptions {
  file?: string;
  positions?: string;
  verify: boolean;
}

const importFile = async (options: ImportOptions, command: Command) => {
  if (options.file === undefined) throw new InvalidArgumentError('give the export to import with --file');
  const positions = positionsOf(options.positions);
  const file = await openExportFile(options.file);
  let first;
  for await (const { event } of file.events()) {
    first = event;
    break;
  }
  const side = await openSide(command, '', 'target');
  try {
    await transfer(
      {
        identity: file.header,
        first,
        lastPosition: file.lastPosition,
        events: () => file.events(),
        all: async function* () {
          for await (const { event } of file.events()) yield event;
        },
      },
      side.store,
      { label: 'import', positions, verify: options.verify, where: side.where },
    );
  } catch (error) {
    side.explain(error);
    throw error;
  } finally {
    await side.store.close();
  }
};

export const importCommand = () =>
  addSideOptions(
    new Command('import')
      .description('write the events of an export (annals export) into a store, keeping ids, streams, revisions and times')
      .option('--file <file>', 'the NDJSON file to import')
      .addOption(positionsOption())
      .option('--no-verify', 'skip reading the target back and comparing it with the file'),
    '',
    'target',
  )
    .addHelpText(
      'after',
      `
Positions are kept (and the target takes the source's identity) when the target is empty or is already a
copy of the file's source; otherwise events get new positions after what the target holds. Run again after
an interruption, it skips what the target already has. Examples:
  annals import --file orders.ndjson --url http://127.0.0.1:2113 --token $ADMIN_TOKEN
  annals import --file orders.ndjson --engine postgres --pg-url postgres://app@db/app`,
    )
    .action((options: ImportOptions, command: Command) => importFile(options, command));
