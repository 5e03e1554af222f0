import { expectedRevisionOf } from '../protocol/wire.js';
import { InvalidArgumentError } from '../store/errors.js';
import type { StreamMetadata } from '../store/model.js';
import { clientCommand, printLine, withClient, type ConnectionOptions } from './options.js';

interface MetadataOptions extends ConnectionOptions {
  set?: string;
  expectedRevision?: string;
}

export const metadataCommand = () =>
  clientCommand('metadata', "print a stream's metadata, or replace it with --set")
    .argument('<stream>', 'the stream')
    .option('--set <json>', 'the whole new metadata: { maxCount?, maxAgeSeconds?, truncateBefore?, acl?, custom? }')
    .option('--expected-revision <revision>', 'with --set: any, no_stream, stream_exists or the revision $$<stream> must be at')
    .addHelpText(
      'after',
      `
Examples:
  annals metadata order-42
  annals metadata order-42 --set '{"maxCount":1000,"acl":{"read":{"roles":["admin"],"tokens":["billing"]}}}'`,
    )
    .action(async (stream: string, options: MetadataOptions) => {
      await withClient(options, async (store) => {
        if (options.set === undefined) {
          printLine(await store.getMetadata(stream));
          return;
        }
        let metadata: StreamMetadata;
        try {
          metadata = JSON.parse(options.set) as StreamMetadata;
        } catch {
          throw new InvalidArgumentError(`--set is not JSON: ${options.set.slice(0, 80)}`);
        }
        await store.setMetadata(stream, metadata, { expectedRevision: expectedRevisionOf(options.expectedRevision) });
        printLine(await store.getMetadata(stream));
      });
    });
