/** Reading an NDJSON file a line at a time, with line numbers, so that an error can say where it is. */
import { isUtf8 } from 'node:buffer';
import { createReadStream } from 'node:fs';
import { InvalidArgumentError } from '../../store/errors.js';

export interface Line {
  /** The line's text, without its newline. */
  text: string;
  /** From 1, as editors count. */
  number: number;
  /** Its length in bytes, newline included: what it weighs in a request. */
  bytes: number;
  /** The file's last line, without a newline: perhaps cut short by an interrupted write. */
  unterminated?: true;
}

/**
 * The lines of `path`, blank ones left out. Invalid UTF-8 is refused, naming its line, never replaced: a
 * copy must carry exactly what was exported.
 */
export async function* linesOf(path: string): AsyncGenerator<Line> {
  let pending: Buffer = Buffer.alloc(0);
  let number = 0;
  const lineOf = (bytes: Buffer, valid: boolean, unterminated: boolean): Line | undefined => {
    number++;
    if (!valid && !isUtf8(bytes)) throw new InvalidArgumentError(`${path}: line ${number} is not valid UTF-8`);
    const text = bytes.toString('utf8');
    if (text.trim() === '') return undefined;
    return unterminated ? { text, number, bytes: bytes.length, unterminated } : { text, number, bytes: bytes.length + 1 };
  };
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    const data = pending.length === 0 ? (chunk as Buffer) : Buffer.concat([pending, chunk as Buffer]);
    const end = data.lastIndexOf(0x0a);
    if (end === -1) {
      pending = data;
      continue;
    }
    // One check for the whole chunk; line by line only to name a bad line.
    const valid = isUtf8(data.subarray(0, end));
    for (
      let start = 0, newline = data.indexOf(0x0a);
      newline !== -1 && newline <= end;
      start = newline + 1, newline = data.indexOf(0x0a, start)
    ) {
      const line = lineOf(data.subarray(start, newline), valid, false);
      if (line !== undefined) yield line;
    }
    pending = data.subarray(end + 1);
  }
  // The last line may lack its newline; a torn one fails to parse and is named by its number.
  if (pending.length > 0) {
    const line = lineOf(pending, false, true);
    if (line !== undefined) yield line;
  }
}
