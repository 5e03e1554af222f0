import { createHash } from 'node:crypto';

/** The namespace of command event ids (a UUID of its own, so that they never meet another v5 name). */
const namespace = Buffer.from('5d1b8e6c3a2f4b7e9c0d1e2f3a4b5c6d', 'hex');

/**
 * A UUIDv5 (RFC 9562) of `name`: the same name gives the same id in every process, so an event of a
 * command sent twice has the same id both times and the store recognises the second append. Written here
 * with node's SHA-1 rather than taken from a package, so that the client installs nothing for it.
 */
export const uuidv5 = (name: string): string => {
  const hash = createHash('sha1').update(namespace).update(name, 'utf8').digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
};

/** The id of event `index` of command `commandId` on `stream`. */
export const commandEventId = (stream: string, commandId: string, index: number): string => uuidv5(`${stream}/${commandId}/${index}`);
