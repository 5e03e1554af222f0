/**
 * Group commit across callers: appends that arrive while a group is being committed wait and go together
 * in the next one, so 64 concurrent single-event appends cost a few commits, not 64. Each append still
 * gets its own result or its own error, because the commit reports one outcome per item.
 *
 * One group is in flight at a time: every group takes the same append lock in PostgreSQL anyway, so a
 * second one would only wait there, while here it keeps growing.
 */
export type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

export interface GroupCommit<Item, Result> {
  /** Resolves once the group holding `item` is committed. */
  submit(item: Item): Promise<Result>;
  /** Waits until every submitted item is settled. */
  drain(): Promise<void>;
}

interface Pending<Item, Result> {
  item: Item;
  resolve: (value: Result) => void;
  reject: (error: unknown) => void;
}

export const createGroupCommit = <Item, Result>(options: {
  /** Commits one group in one transaction; throws when the whole group failed. */
  commit: (items: Item[]) => Promise<Outcome<Result>[]>;
  /** The size of an item (bytes), so that a group stays below `maxWeight`. */
  weigh: (item: Item) => number;
  maxWeight: number;
  /**
   * Whether a failed group certainly wrote nothing, so that its items may be tried one by one: one bad
   * item must not fail the others. Never true for a lost connection, where the commit may have happened.
   */
  retryAlone: (error: unknown) => boolean;
}): GroupCommit<Item, Result> => {
  const { commit, weigh, maxWeight, retryAlone } = options;
  let queue: Pending<Item, Result>[] = [];
  let running: Promise<void> | undefined;

  const takeGroup = (): Pending<Item, Result>[] => {
    let weight = 0;
    let count = 0;
    while (count < queue.length && (count === 0 || weight + weigh(queue[count]!.item) <= maxWeight)) {
      weight += weigh(queue[count]!.item);
      count++;
    }
    const group = queue.slice(0, count);
    queue = queue.slice(count);
    return group;
  };

  const settle = async (group: Pending<Item, Result>[]): Promise<void> => {
    let outcomes: Outcome<Result>[];
    try {
      outcomes = await commit(group.map((pending) => pending.item));
    } catch (error) {
      if (group.length > 1 && retryAlone(error)) {
        for (const pending of group) await settle([pending]);
      } else {
        for (const pending of group) pending.reject(error);
      }
      return;
    }
    outcomes.forEach((outcome, index) => {
      const pending = group[index]!;
      if (outcome.ok) pending.resolve(outcome.value);
      else pending.reject(outcome.error);
    });
  };

  // Each group starts one turn of the event loop after the last one settled, so that the callers it
  // released (and any others arriving meanwhile) can submit again and join it.
  const pump = async () => {
    for (;;) {
      await new Promise<void>((turn) => setImmediate(turn));
      if (queue.length === 0) break;
      await settle(takeGroup());
    }
    running = undefined;
  };

  return {
    submit(item) {
      return new Promise<Result>((resolve, reject) => {
        queue.push({ item, resolve, reject });
        running ??= pump();
      });
    },
    async drain() {
      while (running) await running;
    },
  };
};
