// The routing policy: most free slots, then idle longest, only eligible reps, never an excluded one.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compareCandidates, freeSlots, isEligible, pickRep, type RepSlot } from '../../src/domain/policy.ts';

const rep = (repId: number, o: Partial<RepSlot> = {}): RepSlot => ({
  repId,
  status: 'online',
  load: 0,
  maxCapacity: 3,
  lastAssignedAt: null,
  ...o,
});

describe('routing policy', () => {
  it('counts free slots', () => {
    assert.equal(freeSlots(rep(1, { load: 1, maxCapacity: 4 })), 3);
    assert.equal(freeSlots(rep(1, { load: 4, maxCapacity: 4 })), 0);
  });

  it('makes only online reps under capacity eligible', () => {
    assert.equal(isEligible(rep(1)), true);
    assert.equal(isEligible(rep(1, { load: 2, maxCapacity: 3 })), true);
    assert.equal(isEligible(rep(1, { load: 3, maxCapacity: 3 })), false);
    assert.equal(isEligible(rep(1, { load: 4, maxCapacity: 3 })), false, 'capacity lowered below the load');
    assert.equal(isEligible(rep(1, { maxCapacity: 0 })), false);
    assert.equal(isEligible(rep(1, { status: 'away' })), false);
    assert.equal(isEligible(rep(1, { status: 'offline' })), false);
  });

  it('picks the rep with the most free slots', () => {
    const reps = [rep(1, { load: 2, maxCapacity: 3 }), rep(2, { load: 0, maxCapacity: 2 }), rep(3, { load: 1, maxCapacity: 5 })];
    assert.equal(pickRep(reps)?.repId, 3);
    assert.equal(pickRep([...reps].reverse())?.repId, 3, 'independent of input order');
  });

  it('prefers free slots over idle time', () => {
    const reps = [rep(1, { load: 2, maxCapacity: 3, lastAssignedAt: 10 }), rep(2, { load: 0, maxCapacity: 3, lastAssignedAt: 1_000_000 })];
    assert.equal(pickRep(reps)?.repId, 2);
  });

  it('on a tie picks the rep least recently assigned', () => {
    const reps = [rep(1, { lastAssignedAt: 3000 }), rep(2, { lastAssignedAt: 1000 }), rep(3, { lastAssignedAt: 2000 })];
    assert.equal(pickRep(reps)?.repId, 2);
    assert.equal(pickRep([...reps].reverse())?.repId, 2);
  });

  it('on a tie puts a never-assigned rep first', () => {
    const reps = [rep(1, { lastAssignedAt: 0 }), rep(2, { lastAssignedAt: 1 }), rep(3, { lastAssignedAt: null })];
    assert.equal(pickRep(reps)?.repId, 3);
    assert.equal(pickRep([...reps].reverse())?.repId, 3);
  });

  it('breaks a full tie by the lowest id, deterministically', () => {
    const reps = [rep(7, { lastAssignedAt: 5 }), rep(4, { lastAssignedAt: 5 }), rep(9, { lastAssignedAt: 5 })];
    assert.equal(pickRep(reps)?.repId, 4);
    assert.equal(pickRep([...reps].reverse())?.repId, 4);
  });

  it('skips ineligible reps even when they look best', () => {
    const reps = [
      rep(1, { status: 'away', maxCapacity: 10 }),
      rep(2, { status: 'offline', maxCapacity: 10 }),
      rep(3, { load: 5, maxCapacity: 5 }),
      rep(4, { load: 6, maxCapacity: 5 }),
      rep(5, { load: 2, maxCapacity: 3, lastAssignedAt: 99 }),
    ];
    assert.equal(pickRep(reps)?.repId, 5);
  });

  it('answers undefined when no rep is eligible', () => {
    assert.equal(pickRep([]), undefined);
    assert.equal(pickRep([rep(1, { status: 'away' }), rep(2, { load: 3 })]), undefined);
  });

  it('never picks an excluded rep', () => {
    const reps = [rep(1, { maxCapacity: 9 }), rep(2, { maxCapacity: 5 }), rep(3, { maxCapacity: 1 })];
    assert.equal(pickRep(reps, new Set([1]))?.repId, 2);
    assert.equal(pickRep(reps, new Set([1, 2]))?.repId, 3);
    assert.equal(pickRep(reps, new Set([1, 2, 3])), undefined);
    assert.equal(pickRep(reps, new Set())?.repId, 1);
  });

  it('accepts any iterable', () => {
    const map = new Map([
      [1, rep(1, { load: 1 })],
      [2, rep(2)],
    ]);
    assert.equal(pickRep(map.values())?.repId, 2);
  });

  it('orders candidates consistently with pickRep', () => {
    const reps = [rep(1, { load: 1 }), rep(2, { lastAssignedAt: 50 }), rep(3, { lastAssignedAt: null }), rep(4, { lastAssignedAt: 10 })];
    const sorted = [...reps].sort(compareCandidates).map((r) => r.repId);
    assert.deepEqual(sorted, [3, 4, 2, 1]);
    assert.equal(pickRep(reps)?.repId, sorted[0]);
  });
});
