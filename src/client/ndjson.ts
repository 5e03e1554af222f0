/** Events of an NDJSON read, parsed line by line as the body arrives. */
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { AnnalsError, UnavailableError } from '../store/errors.js';
import type { RecordedEvent } from '../store/model.js';
import { recordedFromJson, type ProblemJson, type RecordedEventJson } from '../protocol/wire.js';
import { errorFromProblem } from './problems.js';

const parseLine = (line: string): RecordedEvent => {
  const value = JSON.parse(line) as RecordedEventJson | { error: ProblemJson };
  // A read that fails after its first page ends with one line holding the problem.
  if ('error' in value) throw errorFromProblem(value.error);
  return recordedFromJson(value);
};

export async function* ndjsonEvents(body: Readable): AsyncGenerator<RecordedEvent> {
  let rest = '';
  const decoder = new StringDecoder('utf8');
  try {
    for await (const chunk of body) {
      const text = rest + decoder.write(chunk as Buffer);
      const lines = text.split('\n');
      rest = lines.pop()!;
      for (const line of lines) if (line !== '') yield parseLine(line);
    }
    if (rest !== '') yield parseLine(rest);
  } catch (error) {
    if (error instanceof AnnalsError) throw error;
    throw new UnavailableError(`the read was cut off: ${(error as Error).message}`, { cause: error });
  } finally {
    body.destroy();
  }
}
