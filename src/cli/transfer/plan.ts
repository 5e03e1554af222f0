/**
 * How an import or copy places events in its target: keeping their positions (and taking the source's
 * identity) when the target is empty or is already a copy of the source, else with new positions after
 * what the target holds; `--positions` forces one, and keeping is refused where it cannot be done.
 */
import { Option } from 'commander';
import { ConflictError, InvalidArgumentError } from '../../store/errors.js';
import type { EventStore } from '../../store/event-store.js';
import type { RecordedEvent, StoreIdentity, StoreStats } from '../../store/model.js';
import type { ResumePoint } from './resume.js';

export type Positions = 'keep' | 'new';

/** A `--from` flag's value as a position. */
export const positionFlag = (flag: string, value: string) => {
  if (!/^[0-9]{1,19}$/.test(value)) throw new InvalidArgumentError(`${flag} is '${value}'; allowed: a position (digits)`);
  return BigInt(value);
};

/** The `--positions` flag of import and copy; `positionsOf` reads its value. */
export const positionsOption = () =>
  new Option(
    '--positions <how>',
    'keep: as in the source (an empty target, or a copy of the source); new: after what the target holds',
  ).choices(['keep', 'new']);

export const positionsOf = (value: string | undefined): Positions | undefined => {
  if (value === undefined || value === 'keep' || value === 'new') return value;
  throw new InvalidArgumentError(`--positions is '${value}'; allowed: keep (as in the source) or new (after what the target holds)`);
};

const sameStore = (a: StoreIdentity, b: StoreIdentity) => a.storeId === b.storeId && a.epoch === b.epoch;

/** `source`: the identity the events come with (an export's header, a source store), if known. */
export const choosePositions = (requested: Positions | undefined, source: StoreIdentity | undefined, target: StoreStats): Positions => {
  const keepable = target.headPosition === 0n || (source !== undefined && sameStore(source, target));
  if (requested === 'new' || (requested === undefined && !keepable)) return 'new';
  if (keepable) return 'keep';
  const from =
    source === undefined ? 'a source whose identity is unknown (the file has no header)' : `${source.storeId} (epoch ${source.epoch})`;
  throw new ConflictError(
    `--positions keep: the target holds events (head ${target.headPosition}) and is ${target.storeId} (epoch ${target.epoch}), ` +
      `not a copy of ${from}; positions are kept only into an empty store or a copy of the same source: use --positions new to append`,
  );
};

/**
 * Where to go on in the target: after its last event with kept positions; with new positions after the
 * source's event it holds last, if it holds the source's first event (`first`) at all.
 */
export const resumePointOf = async (target: EventStore, positions: Positions, first: RecordedEvent | undefined): Promise<ResumePoint> => {
  const [head] = await target.readAll({ direction: 'backwards', limit: 1, filter: { includeSystem: true } });
  if (head === undefined || first === undefined) return { after: 'nothing' };
  if (positions === 'keep') return { after: 'position', position: head.position, id: head.id };
  return (await target.readEvent(first.id)) === undefined ? { after: 'nothing' } : { after: 'id', id: head.id };
};
