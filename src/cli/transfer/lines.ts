/** Reading an NDJSON file a line at a time, with line numbers, so that an error can say where it is. */
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
 * The lines of `path`, blank ones left out. Invalid UTF-8 is refused (naming the line it follows), never
 * replaced: a copy must carry exactly what was exported.
 */
export async function* linesOf(path: string): AsyncGenerator<Line> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let pending = '';
  let number = 0;
  const split = function* (text: string) {
    pending += text;
    let start = 0;
    for (let end = pending.indexOf('\n'); end !== -1; start = end + 1, end = pending.indexOf('\n', start)) {
      number++;
      const line = pending.slice(start, end);
      if (line.trim() !== '') yield { text: line, number, bytes: Buffer.byteLength(line) + 1 };
    }
    pending = pending.slice(start);
  };
  try {
    for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }))
      yield* split(decoder.decode(chunk as Buffer, { stream: true }));
    yield* split(decoder.decode());
  } catch (error) {
    if (error instanceof TypeError && (error as { code?: string }).code === 'ERR_ENCODING_INVALID_ENCODED_DATA') {
      throw new InvalidArgumentError(`${path}: line ${number + 1} is not valid UTF-8`);
    }
    throw error;
  }
  // The last line may lack its newline; a torn one fails to parse and is named by its number.
  if (pending.trim() !== '') yield { text: pending, number: number + 1, bytes: Buffer.byteLength(pending), unterminated: true };
}
