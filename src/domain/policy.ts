// The routing policy: which rep gets the next conversation. Pure, shared by every Router adapter.
import type { RepStatus } from './types.ts';

export interface RepSlot {
  repId: number;
  status: RepStatus;
  load: number;
  maxCapacity: number;
  lastAssignedAt: number | null;
}

export function freeSlots(rep: RepSlot): number {
  return rep.maxCapacity - rep.load;
}

export function isEligible(rep: RepSlot): boolean {
  return rep.status === 'online' && rep.load < rep.maxCapacity;
}

/**
 * Most free slots first; on a tie the rep idle longest (least recently assigned, never-assigned first),
 * then the lowest id so that the choice is deterministic.
 */
export function compareCandidates(a: RepSlot, b: RepSlot): number {
  const free = freeSlots(b) - freeSlots(a);
  if (free !== 0) return free;
  const la = a.lastAssignedAt ?? -1;
  const lb = b.lastAssignedAt ?? -1;
  if (la !== lb) return la - lb;
  return a.repId - b.repId;
}

export function pickRep(reps: Iterable<RepSlot>, exclude?: ReadonlySet<number>): RepSlot | undefined {
  let best: RepSlot | undefined;
  for (const rep of reps) {
    if (!isEligible(rep) || exclude?.has(rep.repId)) continue;
    if (!best || compareCandidates(rep, best) < 0) best = rep;
  }
  return best;
}
