/**
 * The shared tier of a projection cache (DESIGN.md section 9, "Cache"): entries that several instances of a
 * service see, and the channel that carries invalidations between them. Redis implements it
 * (`src/engines/redis/cache-tier.ts`); the cache's logic stays here, in front of this interface.
 */

/** Names one cached entry: the projection, its version and the query's key. */
export interface EntryId {
  name: string;
  version: number;
  key: string;
}

/** What a commit invalidated, as it travels between instances. */
export interface Invalidation {
  name: string;
  version: number;
  /** The read-model position the commit moved to: entries below it are outdated. */
  position: bigint;
  keys: readonly string[];
  /** Every entry of the projection is outdated (a build became active). */
  activated: boolean;
}

export interface TierSubscriber {
  /** An invalidation published by any instance (this one included). */
  invalidation(message: Invalidation): void;
  /** Whether invalidations are being received: false when the channel dropped (messages may be missed). */
  connected(connected: boolean): void;
}

export interface CacheTier {
  /** The stored entry (the cache's own encoding), or null. */
  get(id: EntryId): Promise<string | null>;
  /**
   * Stores the entry unless an invalidation of its key (or of the whole projection) is above `position`,
   * atomically with that check; false when refused.
   */
  fill(id: EntryId, position: bigint, entry: string): Promise<boolean>;
  /** Removes the entries, records the invalidation positions, and publishes the invalidation to every instance. */
  invalidate(message: Invalidation): Promise<void>;
  /** The last activation recorded for the projection, for an instance that may have missed it. */
  activation(name: string): Promise<{ version: number; position: bigint } | undefined>;
  /** Receives the projection's invalidations until the returned function is called. */
  subscribe(name: string, subscriber: TierSubscriber): Promise<() => Promise<void>>;
}
