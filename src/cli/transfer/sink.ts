/** Where an export writes: a file (new, or a partial one it goes on with) or stdout, in large chunks. */
import { once } from 'node:events';
import { open } from 'node:fs/promises';

export interface Sink {
  write(text: string): Promise<void>;
  /** Flushes to disk, so that a later `--resume` finds every line this run wrote. */
  close(): Promise<void>;
}

/** Writes to `path`: from scratch, or after its first `keep` bytes (a partial export, its torn line cut off). */
export const fileSink = async (path: string, keep?: number): Promise<Sink> => {
  const file = await open(path, keep === undefined ? 'w' : 'r+', 0o600);
  if (keep !== undefined) await file.truncate(keep);
  let offset = keep ?? 0;
  return {
    async write(text) {
      const bytes = Buffer.from(text);
      await file.write(bytes, 0, bytes.length, offset);
      offset += bytes.length;
    },
    async close() {
      try {
        await file.sync();
      } finally {
        await file.close();
      }
    },
  };
};

export const stdoutSink = (): Sink => ({
  async write(text) {
    if (!process.stdout.write(text)) await once(process.stdout, 'drain');
  },
  close: async () => undefined,
});
