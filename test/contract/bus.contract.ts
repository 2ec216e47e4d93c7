// The fan-out port's contract: one suite run unchanged against every adapter (memory, Redis, Redis Cluster):
// every event reaches every listener, in publish order, once.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Bus, BusEvent } from '../../src/bus/port.ts';
import { eventually } from '../helpers/wait.ts';

export function recorder(bus: Bus): { events: BusEvent[]; until: (n: number) => Promise<void> } {
  const events: BusEvent[] = [];
  bus.subscribe((e) => events.push(e));
  return {
    events,
    until: (n: number) => eventually(() => events.length >= n, { timeoutMs: 5000, intervalMs: 10, what: `${n} events heard (${events.length} so far)` }).then(() => undefined),
  };
}

export const logout = (userId: number): BusEvent => ({ kind: 'logout', userId });

export interface Harness {
  /** Two handles on one fan-out (two instances, or one process twice). */
  pair(): Promise<[Bus, Bus]>;
}

export function busContract(name: string, harness: Harness, skip: string | false) {
  describe(`Bus contract: ${name}`, { skip }, () => {
    it('delivers every event to every listener, in publish order, once', async () => {
      const [a, b] = await harness.pair();
      const onA = recorder(a);
      const onB = recorder(b);
      for (let i = 1; i <= 200; i++) void (i % 2 ? a : b).publish(logout(i));
      await onA.until(200);
      await onB.until(200);
      const ids = (r: { events: BusEvent[] }) => r.events.map((e) => (e as { userId: number }).userId);
      assert.deepEqual(ids(onA), ids(onB), 'both hear one order');
      assert.deepEqual([...ids(onA)].sort((x, y) => x - y), Array.from({ length: 200 }, (_, i) => i + 1), 'each once');
      const fromA = ids(onA).filter((n) => n % 2);
      assert.deepEqual(fromA, [...fromA].sort((x, y) => x - y), 'one publisher in its own order');
    });

    it('stops delivering to a listener that unsubscribed', async () => {
      const [a, b] = await harness.pair();
      const kept = recorder(b);
      const dropped: BusEvent[] = [];
      const off = b.subscribe((e) => dropped.push(e));
      await a.publish(logout(1));
      await kept.until(1);
      off();
      await a.publish(logout(2));
      await kept.until(2);
      assert.equal(dropped.length, 1);
    });
  });
}

