// Bounded waits. Tests wait for a condition, never for a length of time, and every wait has a deadline.

export interface EventuallyOptions {
  /** Gives up after this long (default 5 s). */
  timeoutMs?: number;
  /** Pause between two probes (default 25 ms). */
  intervalMs?: number;
  /** Named in the timeout error. */
  what?: string;
}

/**
 * Probes until `probe` returns a value other than `false`, `undefined` or `null` without throwing, and
 * returns that value. An assertion that throws counts as "not yet"; on timeout, the last error (or the last
 * value) is in the message, so a failure says what was seen.
 */
export async function eventually<T>(probe: () => T | Promise<T>, opts: EventuallyOptions = {}): Promise<Exclude<T, false | undefined | null>> {
  const { timeoutMs = 5000, intervalMs = 25, what = 'condition' } = opts;
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  let lastErr: unknown;
  for (;;) {
    try {
      last = await probe();
      lastErr = undefined;
      if (last !== false && last !== undefined && last !== null) return last as Exclude<T, false | undefined | null>;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() >= deadline) {
      const seen = lastErr ? (lastErr as Error).message : `last value ${JSON.stringify(last)}`;
      throw new Error(`${what} not met within ${timeoutMs} ms: ${seen}`, { cause: lastErr });
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Rejects when `promise` has not settled within `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
