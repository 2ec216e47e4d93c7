// Per-username limit on failed logins, with backoff: online password guessing gets a few tries per window, and
// a victim whose name is being guessed gets back in once the window has passed.
import { createHash } from 'node:crypto';

export interface FailureState {
  /** Failures in the current window. */
  n: number;
  /** When the window began (the first failure of it), ms. */
  start: number;
  /** The latest failure, ms. */
  last: number;
}

export interface ThrottleRules {
  maxFailures: number;
  windowMs: number;
}

/**
 * Until when a username is refused (0: it is not). From half the budget on, each failure asks for twice the
 * previous wait (1 s, 2 s, 4 s ...) before the next try; at the budget, the name is refused until the window
 * ends. No wait ever outlasts the window, so a correct password works again once it has passed.
 */
export function blockedUntil(s: FailureState | undefined, rules: ThrottleRules, now: number): number {
  if (!s || rules.maxFailures === 0) return 0;
  const windowEnd = s.start + rules.windowMs;
  if (now >= windowEnd) return 0;
  if (s.n >= rules.maxFailures) return windowEnd;
  const half = Math.ceil(rules.maxFailures / 2);
  if (s.n < half) return 0;
  const until = Math.min(s.last + 1000 * 2 ** (s.n - half), windowEnd);
  return until > now ? until : 0;
}

export interface LoginThrottle {
  state(key: string, now: number): Promise<FailureState | undefined>;
  failure(key: string, now: number): Promise<void>;
  success(key: string): Promise<void>;
}

/** The embedded mode's throttle; bounded, so that a flood of made-up usernames cannot grow it without end. */
export class MemoryLoginThrottle implements LoginThrottle {
  private readonly states = new Map<string, FailureState>();

  constructor(
    private readonly windowMs: number,
    private readonly maxEntries = 100_000,
  ) {}

  async state(key: string, now: number): Promise<FailureState | undefined> {
    const s = this.states.get(key);
    if (s && now >= s.start + this.windowMs) {
      this.states.delete(key);
      return undefined;
    }
    return s;
  }

  async failure(key: string, now: number): Promise<void> {
    const s = await this.state(key, now);
    if (s) {
      s.n++;
      s.last = now;
      return;
    }
    // Oldest first: a Map iterates in insertion order.
    if (this.states.size >= this.maxEntries) this.states.delete(this.states.keys().next().value!);
    this.states.set(key, { n: 1, start: now, last: now });
  }

  async success(key: string): Promise<void> {
    this.states.delete(key);
  }
}

/** A fixed-length key for a username, so that a 150-character name never becomes a long Redis key or map key. */
export function throttleKey(canonicalUsername: string): string {
  return createHash('sha256').update(canonicalUsername, 'utf8').digest('base64url').slice(0, 32);
}
