/** The end of an NDJSON file, read backwards: where an interrupted export resumes, and how far a file goes. */
import { open } from 'node:fs/promises';

export interface Tail {
  /** Bytes up to and including the last newline: what stays of the file when a torn last line is cut off. */
  complete: number;
  /** The last complete line, without its newline; undefined when the file has none. */
  lastLine?: string;
}

const chunkBytes = 64 * 1024;

/** Reads backwards from the end of `path` until the last complete line is whole. */
export const tailOf = async (path: string): Promise<Tail> => {
  const file = await open(path, 'r');
  try {
    const { size } = await file.stat();
    let buffered = Buffer.alloc(0);
    let start = size;
    let complete: number | undefined;
    while (start > 0) {
      const length = Math.min(chunkBytes, start);
      start -= length;
      const chunk = Buffer.alloc(length);
      await file.read(chunk, 0, length, start);
      buffered = Buffer.concat([chunk, buffered]);
      if (complete === undefined) {
        const newline = buffered.lastIndexOf(0x0a);
        if (newline === -1) continue;
        complete = start + newline + 1;
      }
      // The newline before the last complete line, or the start of the file.
      const end = complete - start - 1;
      const before = end === 0 ? -1 : buffered.lastIndexOf(0x0a, end - 1);
      if (before !== -1 || start === 0) return { complete, lastLine: buffered.subarray(before + 1, end).toString('utf8') };
    }
    return { complete: complete ?? 0 };
  } finally {
    await file.close();
  }
};
