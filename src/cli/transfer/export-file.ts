/** An export file as import reads it: its header, if any, then its events in order, each with its line. */
import { existsSync } from 'node:fs';
import { InvalidArgumentError } from '../../store/errors.js';
import type { RecordedEvent } from '../../store/model.js';
import { eventOf, parseLine } from './event-line.js';
import { headerOf, isHeader, type ExportHeader } from './header.js';
import { linesOf, type Line } from './lines.js';
import { tailOf } from './tail.js';

/** An event and the bytes of its line: what it weighs in a batch. */
export interface SizedEvent {
  event: RecordedEvent;
  bytes: number;
}

export interface ExportFile {
  path: string;
  header?: ExportHeader;
  /** The position of the file's last event, 0n when there is none: how far an import goes. */
  lastPosition: bigint;
  /** The events in order; each call reads the file again. */
  events(): AsyncGenerator<SizedEvent>;
}

const whereOf = (path: string, line: Line) => `${path} line ${line.number}`;

const parsed = (path: string, line: Line): unknown => {
  try {
    return parseLine(line.text, whereOf(path, line));
  } catch (error) {
    if (line.unterminated && error instanceof InvalidArgumentError) {
      error.message += '; it is the last line and has no newline: an export cut short? annals export --resume completes it';
    }
    throw error;
  }
};

async function* eventsOf(path: string): AsyncGenerator<SizedEvent> {
  let lastPosition = 0n;
  for await (const line of linesOf(path)) {
    const value = parsed(path, line);
    if (isHeader(value)) {
      if (line.number !== 1) throw new InvalidArgumentError(`${whereOf(path, line)} is a header; only the first line may be one`);
      continue;
    }
    const event = eventOf(value, whereOf(path, line));
    if (event.position <= lastPosition) {
      throw new InvalidArgumentError(
        `${whereOf(path, line)}: position ${event.position} does not follow ${lastPosition}; events go in log order`,
      );
    }
    lastPosition = event.position;
    yield { event, bytes: line.bytes };
  }
}

/** The header of an export file: its first line, when that is one. */
export const headerOfFile = async (path: string): Promise<ExportHeader | undefined> => {
  for await (const line of linesOf(path)) {
    const value = parsed(path, line);
    return isHeader(value) ? headerOf(value as Record<string, unknown>, whereOf(path, line)) : undefined;
  }
  return undefined;
};

export const openExportFile = async (path: string): Promise<ExportFile> => {
  if (!existsSync(path)) throw new InvalidArgumentError(`--file ${path} does not exist`);
  const header = await headerOfFile(path);
  // The last complete line gives how far the file goes; a broken one is named when the events reach it.
  const { lastLine } = await tailOf(path);
  let lastPosition = 0n;
  if (lastLine !== undefined) {
    const value: unknown = (() => {
      try {
        return JSON.parse(lastLine);
      } catch {
        return undefined;
      }
    })();
    const position = (value as { position?: unknown } | undefined)?.position;
    if (typeof position === 'string' && /^[0-9]{1,19}$/.test(position)) lastPosition = BigInt(position);
  }
  return { path, header, lastPosition, events: () => eventsOf(path) };
};
