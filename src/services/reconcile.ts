// RoutingReconciler: compares the router with the store and repairs a difference that lasts longer than any
// operation takes, in both modes. An instance killed between a router proposal and its store commit, a
// failed store call in an assignment, or a process stopped between a rep's offline commit and its router
// update leaves state that no one else would fix; this is what finds and clears it. A rebuild is safe: it is
// fenced (no router operation lands between its snapshot and its load), and the store decides every
// assignment, so a stale proposal is only refused (R1).
import type { RoutingSnapshot } from '../domain/types.ts';
import type { QueueDigest, RouterView } from '../routing/port.ts';
import type { ServiceContext } from './context.ts';
import { dispatchEligible, rebuildRouting } from './rebuild.ts';
import { finishRepOffline } from './reps.ts';

/** Every way the router differs from the store, as stable strings so two passes can be compared. */
export function routingDrift(snap: RoutingSnapshot, view: RouterView, opts: { queue?: boolean } = {}): Set<string> {
  const drift = new Set<string>();
  if (opts.queue !== false) queueDrift(snap, view, drift);
  assignmentDrift(snap, view, drift);
  return drift;
}

/** The queue, entry by entry: O(queued). The light pass leaves it out when the digests agree. */
function queueDrift(snap: RoutingSnapshot, view: RouterView, drift: Set<string>): void {
  const queuedInStore = new Set(snap.queue.map((c) => c.id));
  const queuedInRouter = new Set(view.queued);
  for (const id of queuedInStore) if (!queuedInRouter.has(id)) drift.add(`missing-from-queue:${id}`);
  for (const id of queuedInRouter) if (!queuedInStore.has(id)) drift.add(`not-queued:${id}`);
  // Queued in the store but still pending in the router: its enqueue committed and the confirm was lost
  // (Redis failed, the process stopped). Dispatch passes pending entries over, so it would wait forever.
  for (const id of view.pending) if (queuedInStore.has(id)) drift.add(`unconfirmed:${id}`);
}

/** Assignments, loads and reps (bounded by the reps' capacity), and a queue beside a free slot. */
function assignmentDrift(snap: RoutingSnapshot, view: RouterView, drift: Set<string>): void {
  const heldInStore = new Map(snap.assigned.map((c) => [c.id, c.repId]));
  for (const [id, repId] of heldInStore) if (view.held.get(id) !== repId) drift.add(`unheld:${id}:${repId}`);
  for (const [id, repId] of view.held) if (heldInStore.get(id) !== repId) drift.add(`orphan:${id}:${repId}`);
  // A queue beside a free slot, in the router's own view (one atomic read): every router operation
  // dispatches, so this is a router nobody dispatched (a bare rebuild). The store's view is not asked: a free
  // slot there beside a queue is routine between a close's commit and its release in the router.
  const free = [...view.reps.values()].some((r) => r.status === 'online' && r.load < r.maxCapacity);
  if (view.queued.length > 0 && free) drift.add(`stalled:${view.queued[0]}`);
  // Loads are not compared across the two reads: a load that differs only because a close or an assignment
  // straddles them would look the same on every pass under steady churn. Each side must agree with itself
  // (both reads are consistent), and the held sets above, keyed by conversation, say where they differ.
  const heldByRouter = new Map<number, number>();
  for (const repId of view.held.values()) heldByRouter.set(repId, (heldByRouter.get(repId) ?? 0) + 1);
  const heldByStore = new Map<number, number>();
  for (const c of snap.assigned) if (c.repId !== null) heldByStore.set(c.repId, (heldByStore.get(c.repId) ?? 0) + 1);
  for (const [repId, r] of view.reps) if (r.load !== (heldByRouter.get(repId) ?? 0)) drift.add(`router-load:${repId}:${r.load}`);
  for (const rep of snap.reps) {
    if (rep.load !== (heldByStore.get(rep.id) ?? 0)) drift.add(`store-load:${rep.id}:${rep.load}`);
    const r = view.reps.get(rep.id);
    if (!r || r.status !== rep.status || r.maxCapacity !== rep.maxCapacity) drift.add(`rep:${rep.id}:${rep.status}:${rep.maxCapacity}`);
  }
  // An offline rep that still holds chats in the store: its offline transition did not finish.
  const holding = new Set(snap.assigned.map((c) => c.repId));
  for (const rep of snap.reps) if (rep.status === 'offline' && holding.has(rep.id)) drift.add(`offline-holding:${rep.id}`);
}

/** The reconciler's time is at most 1/PASS_SHARE of the wall time... */
const PASS_SHARE = 50;
/** ...but it never waits longer than this between passes: it is what repairs a dead instance's leftovers. */
const MAX_WAIT_MS = 30_000;

const intersect = (a: Set<string>, b: Set<string>) => new Set([...a].filter((d) => b.has(d)));

export class RoutingReconciler {
  private previous = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = true;
  /** How long the last pass took (ms), which sets the wait before the next. */
  lastPassMs = 0;

  constructor(
    private readonly ctx: ServiceContext,
    /** Only one instance at a time needs to look; the others skip the pass. */
    private readonly tryLock: () => Promise<boolean>,
    private readonly onRebuild: (drift: string[]) => void = () => undefined,
    /** Measures a pass (ms); a test's clock can stand in. */
    private readonly clock: () => number = () => performance.now(),
  ) {}

  /**
   * A pass reads the whole routing state (O(queued + assigned)): at 100,000 queued it is no longer cheap, so
   * the next pass waits at least PASS_SHARE times as long as the last took, which keeps the reconciler under
   * 1/PASS_SHARE of the time whatever the queue's size (a repair then takes two such intervals), and at most
   * MAX_WAIT_MS. A pass that failed is followed after the base interval.
   */
  start(intervalMs: number): void {
    const schedule = (delay: number) => {
      this.timer = setTimeout(() => {
        const t0 = this.clock();
        let failed = false;
        this.pass()
          .catch((err) => {
            failed = true;
            this.ctx.reportError(err, 'a reconciliation pass failed');
          })
          .finally(() => {
            this.lastPassMs = this.clock() - t0;
            // A failed pass (a store or Redis outage) says nothing about a pass's cost: try again soon.
            const wait = failed ? intervalMs : Math.min(MAX_WAIT_MS, Math.max(intervalMs, PASS_SHARE * this.lastPassMs));
            if (!this.stopped) schedule(wait);
          });
      }, delay);
      this.timer.unref();
    };
    this.stopped = false;
    schedule(intervalMs);
  }

  /**
   * One comparison. The router is read before and after the snapshot, and only a difference against both
   * counts: an operation whose store and router halves straddle the snapshot is not drift. What is still
   * there on the next pass is repaired: an unfinished offline is finished, a stalled queue dispatched, and
   * anything else rebuilt.
   */
  async pass(): Promise<boolean> {
    if (!(await this.tryLock())) return false;
    // With the queue's digest in agreement, only its head is read (for a queue beside a free slot).
    const light = await this.queueAgrees();
    const inspect = () => this.ctx.router.inspect(light ? { queueLimit: 1 } : undefined);
    const before = await inspect();
    const snap = await this.ctx.store.routingSnapshot(light ? { queue: false } : undefined);
    const after = await inspect();
    const opts = { queue: !light };
    const drift = intersect(routingDrift(snap, before, opts), routingDrift(snap, after, opts));
    const lasting = [...drift].filter((d) => this.previous.has(d));
    this.previous = drift;
    if (lasting.length === 0) return false;
    for (const d of lasting) if (d.startsWith('offline-holding:')) await finishRepOffline(this.ctx, Number(d.split(':')[1]));
    // A store whose load column disagrees with its own assignments is reported, not rebuilt: the router
    // counts loads from the assignments, and the store's conditional updates still bound every rep.
    const rebuild = lasting.some((d) => !/^(offline-holding|stalled|store-load):/.test(d));
    if (rebuild) await this.ctx.lock.run(() => rebuildRouting(this.ctx));
    else if (lasting.some((d) => d.startsWith('stalled:'))) {
      await this.ctx.lock.run(async () => dispatchEligible(this.ctx, (await this.ctx.store.routingSnapshot()).reps));
    }
    this.previous = new Set();
    this.onRebuild(lasting);
    await this.ctx.publish({ kind: 'queue_changed' });
    return true;
  }

  /**
   * Whether the router's queue and the store's agree, by digest (count and queue_seq sum of the committed
   * entries): the store's read matching the router's before or after it, as for drift. A few tries, since
   * churn can move both between reads; false (a whole comparison) when the router keeps no digest, or
   * admissions stay pending across both reads.
   */
  private async queueAgrees(): Promise<boolean> {
    const router = this.ctx.router;
    if (!router.digest) return false;
    const same = (a: QueueDigest, b: { length: number; seqSum: number }) => a.length === b.length && a.seqSum === b.seqSum;
    for (let i = 0; i < 3; i++) {
      const before = await router.digest();
      const stored = await this.ctx.store.queueDigest();
      const after = await router.digest();
      if (before.pending > 0 && after.pending > 0) continue;
      if (same(before, stored) || same(after, stored)) return true;
    }
    return false;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }
}
