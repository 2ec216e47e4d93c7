// Fault-injection seams for liveness tests: a store or router whose chosen methods throw, pause at a gate,
// or run extra steps; everything else goes straight to the real adapter.
import { eventually } from './wait.ts';

/** A point where a call waits until the test opens it; `reached` resolves when the first caller arrives. */
export class Gate {
  private openNow!: () => void;
  private reachedNow!: () => void;
  readonly opened = new Promise<void>((resolve) => (this.openNow = resolve));
  readonly reached = new Promise<void>((resolve) => (this.reachedNow = resolve));
  hits = 0;

  async pass(): Promise<void> {
    this.hits++;
    this.reachedNow();
    await this.opened;
  }

  open(): void {
    this.openNow();
  }
}

type AnyFn = (...args: any[]) => any;
export type Intercept<T> = (real: T, ...args: Parameters<Extract<T, AnyFn>>) => ReturnType<Extract<T, AnyFn>>;

/**
 * Wraps an adapter: `on(name, fn)` makes calls to `name` go through fn(real, ...args) until `off(name)`.
 * Calls the adapter makes to itself are not intercepted.
 */
export function faulty<T extends object>(target: T): { proxy: T; on<K extends keyof T>(name: K, fn: Intercept<T[K]>): void; off(name: keyof T): void } {
  const hooks = new Map<PropertyKey, AnyFn>();
  const proxy = new Proxy(target, {
    get(obj, prop) {
      const value = Reflect.get(obj, prop, obj);
      if (typeof value !== 'function') return value;
      const real = (value as AnyFn).bind(obj);
      const hook = hooks.get(prop);
      return hook ? (...args: unknown[]) => hook(real, ...args) : real;
    },
  });
  return {
    proxy,
    on: (name, fn) => hooks.set(name, fn as AnyFn),
    off: (name) => hooks.delete(name),
  };
}

/** Waits for a condition with a bound (never a timing assertion: the bound only turns a hang into a failure). */
export async function until(check: () => boolean | Promise<boolean>, what: string, boundMs = 5000): Promise<void> {
  await eventually(check, { timeoutMs: boundMs, intervalMs: 5, what });
}
