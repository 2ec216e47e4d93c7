// Wait estimates: the mean handle time of recent conversations, spread over the online capacity.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { estimateWaitS, meanHandleTimeS } from '../../src/domain/estimate.ts';

describe('wait estimate', () => {
  it('falls back to five minutes with no samples', () => {
    assert.equal(meanHandleTimeS([]), 300);
  });

  it('averages the samples', () => {
    assert.equal(meanHandleTimeS([60]), 60);
    assert.equal(meanHandleTimeS([30, 90]), 60);
    assert.equal(meanHandleTimeS([1, 2, 3, 4]), 2.5);
  });

  it('scales with the position and divides by the online capacity, rounding up', () => {
    assert.equal(estimateWaitS(1, 60, 1), 60);
    assert.equal(estimateWaitS(3, 60, 1), 180);
    assert.equal(estimateWaitS(3, 60, 2), 90);
    assert.equal(estimateWaitS(1, 100, 3), 34);
    assert.equal(estimateWaitS(2, 2.5, 1), 5);
  });

  it('is zero for no position, and never divides by zero capacity', () => {
    assert.equal(estimateWaitS(0, 60, 4), 0);
    assert.equal(estimateWaitS(-1, 60, 4), 0);
    assert.equal(estimateWaitS(2, 60, 0), 120);
  });

  it('never decreases as the position grows', () => {
    let last = 0;
    for (let p = 1; p <= 50; p++) {
      const w = estimateWaitS(p, 37.5, 4);
      assert.ok(Number.isInteger(w));
      assert.ok(w >= last);
      last = w;
    }
  });
});
