/**
 * What `application/json` bodies go through before Fastify's own parser (which keeps its guard against
 * prototype poisoning). `JSON.parse` alone would store invalid UTF-8 as U+FFFD, round numbers beyond what
 * a double holds (`9007199254740993` comes back as `...992`) and hand any nesting to code that walks it
 * recursively. One pass over the text refuses all three, naming the field; it tracks only what it needs
 * for that (the nesting, array indexes and where the last key started), so that appends, the hot path,
 * pay little for it.
 */
import type { FastifyError, FastifyInstance } from 'fastify';
import { InvalidArgumentError } from '../store/errors.js';
import { maxJsonDepth } from '../store/limits.js';

/** An append nests data and metadata this deep in its body: the body, `events`, one event. */
const envelopeDepth = 3;
const maxBodyDepth = envelopeDepth + maxJsonDepth;

const utf8 = new TextDecoder('utf-8', { fatal: true });

const enum Char {
  Quote = 0x22,
  Backslash = 0x5c,
  Comma = 0x2c,
  Minus = 0x2d,
  Zero = 0x30,
  Nine = 0x39,
  OpenArray = 0x5b,
  CloseArray = 0x5d,
  OpenObject = 0x7b,
  CloseObject = 0x7d,
}

/** Index of the quote that closes the string opening at `start`. */
const stringEnd = (text: string, start: number): number => {
  let end = text.indexOf('"', start + 1);
  while (end !== -1) {
    let backslashes = 0;
    while (text.charCodeAt(end - 1 - backslashes) === Char.Backslash) backslashes++;
    if (backslashes % 2 === 0) return end;
    end = text.indexOf('"', end + 1);
  }
  return text.length;
};

const isDigit = (code: number) => code >= Char.Zero && code <= Char.Nine;
/** The point, the exponent and its sign: what turns an integer literal into a decimal one. */
const isDecimalChar = (code: number) => code === 0x2e || code === 0x65 || code === 0x45 || code === 0x2b || code === Char.Minus;

/** The digits of a number literal that carry its value: no sign, point, exponent or outer zeros. */
const significantDigits = (literal: string) =>
  literal
    .replace(/[eE].*$/, '')
    .replace(/[-.]/g, '')
    .replace(/^0+|0+$/g, '');

/** Whether `literal` reads back as itself once it has been a double. */
const survivesDouble = (literal: string): boolean => {
  const value = Number(literal);
  // Not a number at all (`-`, `1.2.3`): malformed JSON, which the parser refuses with its own words.
  if (Number.isNaN(value)) return true;
  if (/^-?\d+$/.test(literal)) return Number.isSafeInteger(value);
  return Number.isFinite(value) && significantDigits(literal) === significantDigits(String(value));
};

/** Where the scan is: per level, whether it is an object, the index in an array, where the last key starts. */
class Nesting {
  depth = 0;
  readonly isObject: boolean[] = [];
  readonly index: number[] = [];
  readonly keyStart: number[] = [];

  constructor(private readonly text: string) {}

  /** The key whose string starts at `start`, unescaped; as written when the text is malformed there. */
  private keyAt(start: number): string {
    const written = this.text.slice(start, stringEnd(this.text, start) + 1);
    try {
      return JSON.parse(written) as string;
    } catch {
      return written;
    }
  }

  /** The path of the value being scanned, down to `depth` levels, as `body.events[0].data`. */
  path(depth = this.depth): string {
    let path = 'body';
    for (let level = 1; level <= depth; level++) {
      if (!this.isObject[level]) path += `[${this.index[level]}]`;
      else if (this.keyStart[level] !== -1) path += `.${this.keyAt(this.keyStart[level]!)}`;
    }
    return path;
  }
}

/** Throws InvalidArgumentError, naming the field, where `text` nests too deep or holds a number a double would change. */
const scan = (text: string): void => {
  const at = new Nesting(text);
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === Char.Quote) {
      if (expectKey && at.isObject[at.depth]) {
        at.keyStart[at.depth] = i;
        expectKey = false;
      }
      i = stringEnd(text, i);
    } else if (code === Char.OpenObject || code === Char.OpenArray) {
      if (at.depth === maxBodyDepth) {
        throw new InvalidArgumentError(`${at.path(envelopeDepth)} nests more than ${maxJsonDepth} levels of objects and arrays`);
      }
      at.depth++;
      at.isObject[at.depth] = code === Char.OpenObject;
      at.index[at.depth] = 0;
      at.keyStart[at.depth] = -1;
      expectKey = code === Char.OpenObject;
    } else if (code === Char.CloseObject || code === Char.CloseArray) {
      // Malformed text may close more than it opened; the parser refuses it after the scan.
      if (at.depth > 0) at.depth--;
    } else if (code === Char.Comma) {
      at.index[at.depth]!++;
      expectKey = at.isObject[at.depth] === true;
    } else if (code === Char.Minus || isDigit(code)) {
      let end = i + 1;
      let isInteger = true;
      for (let next = text.charCodeAt(end); isDigit(next) || isDecimalChar(next); next = text.charCodeAt(++end)) {
        if (!isDigit(next)) isInteger = false;
      }
      // An integer of up to 15 digits is exact whatever it is: most numbers skip the check.
      const literal = isInteger && end - i <= 15 ? undefined : text.slice(i, end);
      if (literal !== undefined && !survivesDouble(literal)) {
        throw new InvalidArgumentError(`${at.path()} is ${literal}, which is not exactly representable; send it as a string`);
      }
      i = end - 1;
    }
  }
};

/** The text of a JSON body, once it is known to be UTF-8 with numbers a double holds and a bounded nesting. */
const checkedJsonText = (body: Buffer): string => {
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    throw new InvalidArgumentError('body is not valid UTF-8');
  }
  scan(text);
  return text;
};

/** Why Fastify's parser refused `text`: JSON.parse's own words, or the keys it refuses as prototype poisoning. */
const whyNotJson = (text: string): string => {
  try {
    JSON.parse(text);
    return "body holds a '__proto__' or 'constructor.prototype' key; allowed: other keys";
  } catch (error) {
    return `body is not valid JSON (${(error as Error).message})`;
  }
};

/** Replaces Fastify's `application/json` parser: the text is checked first, then parsed by Fastify's own. */
export const useCheckedJsonParser = (app: FastifyInstance) => {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    let text: string;
    try {
      text = checkedJsonText(body as Buffer);
    } catch (error) {
      done(error as Error, undefined);
      return;
    }
    void parseJson(request, text, (error, value) =>
      done(
        (error as FastifyError | null)?.code === 'FST_ERR_CTP_INVALID_JSON_BODY' ? new InvalidArgumentError(whyNotJson(text)) : error,
        value,
      ),
    );
  });
};
