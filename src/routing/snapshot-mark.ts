// Where a router's queue_seq watermark starts after loading a store snapshot (see Router.enqueueAndDispatch).
import type { RoutingSnapshot } from '../domain/types.ts';

/** Every queue_seq up to it is committed: the counter read with the snapshot, else the highest one in it. */
export function snapshotMark(s: RoutingSnapshot): number {
  if (s.queueSeq !== undefined) return s.queueSeq;
  let mark = 0;
  for (const c of s.queue) mark = Math.max(mark, c.queueSeq ?? 0);
  for (const c of s.assigned) mark = Math.max(mark, c.queueSeq ?? 0);
  return mark;
}
