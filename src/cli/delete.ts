import { expectedRevisionOf } from '../protocol/wire.js';
import { clientCommand, withClient, type ConnectionOptions } from './options.js';

interface DeleteOptions extends ConnectionOptions {
  hard?: boolean;
  expectedRevision?: string;
}

export const deleteCommand = () =>
  clientCommand('delete', 'delete a stream: soft (it reads as absent until written again), or for ever with --hard')
    .argument('<stream>', 'the stream to delete')
    .option('--hard', 'tombstone it: it can never be read or written again')
    .option('--expected-revision <revision>', 'any, stream_exists or the revision the stream must be at')
    .action(async (stream: string, options: DeleteOptions) => {
      await withClient(options, async (store) => {
        const expectedRevision = expectedRevisionOf(options.expectedRevision);
        if (options.hard) await store.tombstoneStream(stream, { expectedRevision });
        else await store.deleteStream(stream, { expectedRevision });
        process.stderr.write(`${options.hard ? 'tombstoned' : 'deleted'} ${stream}\n`);
      });
    });
