// The reconciler's pace: a pass reads the whole routing state, so the wait before the next one grows with
// how long the last took (at most 1/50 of the time), and never drops below the configured interval.
import { afterEach, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import { RoutingReconciler } from '../../src/services/reconcile.ts';
import type { ServiceContext } from '../../src/services/context.ts';

const settle = () => new Promise<void>((r) => setImmediate(r));

afterEach(() => mock.timers.reset());

it('waits 50 times as long as the last pass took before the next, and the base interval when passes are quick', async () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  let now = 0;
  let passes = 0;
  let passMs = 100;
  // The pass ends at its lock (taken elsewhere); the clock says how long it took.
  const r = new RoutingReconciler({} as ServiceContext, async () => ((passes++, (now += passMs)), false), undefined, () => now);
  r.start(2000);
  const at = async (ms: number) => {
    mock.timers.tick(ms);
    await settle();
    return passes;
  };
  assert.equal(await at(1999), 0);
  assert.equal(await at(1), 1);
  assert.equal(r.lastPassMs, 100);
  // 100 ms took: the next one 5 s later.
  assert.equal(await at(4999), 1);
  passMs = 1;
  assert.equal(await at(1), 2);
  // A quick pass: back to the base interval.
  assert.equal(await at(1999), 2);
  assert.equal(await at(1), 3);
  // A very slow pass (10 s: 500 s by the share) waits 30 s at most.
  passMs = 10_000;
  assert.equal(await at(2000), 4);
  passMs = 1;
  assert.equal(await at(29_999), 4);
  assert.equal(await at(1), 5, 'the wait was not capped at 30 s');
  r.stop();
  assert.equal(await at(60_000), 5, 'a pass ran after stop()');
});
