// The Limits port: counters that several instances share, for caps that must hold across the whole service
// (sockets per user, messages per user, upgrades per address, conversations per user). In-process or Redis.

/** A fixed window's count after a hit, and how long until the window ends. */
export interface WindowCount {
  count: number;
  resetInMs: number;
}

export interface Limits {
  /**
   * Adds `n` (default 1) to `key`'s count in a fixed window of `windowMs` that opens at the key's first hit,
   * and returns the count after the hit. Counts over the budget are still counted, so a flood stays refused.
   */
  hit(key: string, windowMs: number, n?: number): Promise<WindowCount>;
  /**
   * Takes a lease on one of `max` places under `key` for `holder`, lasting `ttlMs` unless renewed. True when
   * taken (or already held). Leases of a holder that stops renewing (a killed instance) expire on their own.
   */
  acquire(key: string, holder: string, max: number, ttlMs: number): Promise<boolean>;
  /** Extends live leases by `ttlMs` from now, and puts back any a flush or an expiry took away. */
  renew(leases: ReadonlyArray<{ key: string; holder: string }>, ttlMs: number): Promise<void>;
  release(key: string, holder: string): Promise<void>;
  /** Live leases under `key`. */
  count(key: string): Promise<number>;
  close(): Promise<void>;
}
