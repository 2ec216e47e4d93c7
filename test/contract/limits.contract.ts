// The Limits contract: one suite of cases, run unchanged against every adapter (memory, Redis).
import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Limits } from '../../src/limits/port.ts';
import { eventually as waitUntil } from '../helpers/wait.ts';

export type LimitsFactory = () => Promise<{ limits: Limits; cleanup(): Promise<void> }>;

/** Bounded wait for a condition that depends on time passing (a lease or a window ending). */
async function eventually(check: () => Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  await waitUntil(check, { timeoutMs, intervalMs: 20, what });
}

export function limitsContract(name: string, factory: LimitsFactory, skip: string | false = false): void {
  describe(`Limits contract: ${name}`, { skip }, () => {
    let limits: Limits;
    let cleanup: () => Promise<void>;
    beforeEach(async () => {
      ({ limits, cleanup } = await factory());
    });
    afterEach(async () => cleanup());

    it('counts hits in a window, keeps counting past the budget, and starts again when the window ends', async () => {
      const counts = [];
      for (let i = 0; i < 5; i++) counts.push((await limits.hit('w', 300)).count);
      assert.deepEqual(counts, [1, 2, 3, 4, 5]);
      const after = await limits.hit('w', 300, 3);
      assert.equal(after.count, 8);
      assert.ok(after.resetInMs > 0 && after.resetInMs <= 300);
      assert.equal((await limits.hit('other', 300)).count, 1, 'keys are counted apart');
      await eventually(async () => (await limits.hit('w', 300)).count === 1, 'a new window');
    });

    it('concurrent hits are each counted once', async () => {
      const counts = await Promise.all(Array.from({ length: 50 }, () => limits.hit('c', 10_000)));
      assert.deepEqual(counts.map((c) => c.count).sort((a, b) => a - b), Array.from({ length: 50 }, (_, i) => i + 1));
    });

    it('grants at most max leases; a holder asking again keeps its one; a release frees a place', async () => {
      assert.equal(await limits.acquire('u', 'a', 2, 60_000), true);
      assert.equal(await limits.acquire('u', 'b', 2, 60_000), true);
      assert.equal(await limits.acquire('u', 'c', 2, 60_000), false);
      assert.equal(await limits.acquire('u', 'a', 2, 60_000), true, 'already held');
      assert.equal(await limits.count('u'), 2);
      await limits.release('u', 'a');
      assert.equal(await limits.count('u'), 1);
      assert.equal(await limits.acquire('u', 'c', 2, 60_000), true);
      assert.equal(await limits.acquire('v', 'a', 1, 60_000), true, 'keys are counted apart');
    });

    it('concurrent acquires never grant more than max', async () => {
      const granted = await Promise.all(Array.from({ length: 40 }, (_, i) => limits.acquire('race', `h${i}`, 7, 60_000)));
      assert.equal(granted.filter(Boolean).length, 7);
      assert.equal(await limits.count('race'), 7);
    });

    it('a lease that is not renewed ends on its own (its instance died); a renewed one stays', async () => {
      assert.equal(await limits.acquire('d', 'dead', 2, 300), true);
      assert.equal(await limits.acquire('d', 'alive', 2, 300), true);
      assert.equal(await limits.acquire('d', 'new', 2, 60_000), false);
      await limits.renew([{ key: 'd', holder: 'alive' }], 60_000);
      await eventually(async () => limits.acquire('d', 'new', 2, 60_000), 'the dead lease ending');
      assert.equal(await limits.count('d'), 2, 'the renewed lease and the new one');
    });

    it('renew puts back a lease that was lost', async () => {
      await limits.renew([{ key: 'r', holder: 'x' }, { key: 'r', holder: 'y' }, { key: 'r2', holder: 'x' }], 60_000);
      assert.equal(await limits.count('r'), 2);
      assert.equal(await limits.count('r2'), 1);
      assert.equal(await limits.acquire('r', 'z', 2, 60_000), false);
    });
  });
}
