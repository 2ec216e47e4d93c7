// RoutingReconciler: compares the router with the store and rebuilds the router when they disagree for
// longer than any operation takes. An instance killed between a router proposal and its store commit
// leaves a reservation that no one will commit or refuse; this is what finds and clears it. A rebuild
// is always safe: the store decides every assignment, so a stale proposal is only refused (R1).
import type { RoutingSnapshot } from '../domain/types.ts';
import type { RouterView } from '../routing/port.ts';
import { slotOf, type ServiceContext } from './context.ts';
import { rebuildRouting } from './rebuild.ts';
import { isEligible } from '../domain/policy.ts';

/** Every way the router differs from the store, as stable strings so two passes can be compared. */
export function routingDrift(snap: RoutingSnapshot, view: RouterView): Set<string> {
  const drift = new Set<string>();
  const queuedInStore = new Set(snap.queue.map((c) => c.id));
  const queuedInRouter = new Set(view.queued);
  for (const id of queuedInStore) if (!queuedInRouter.has(id)) drift.add(`missing-from-queue:${id}`);
  for (const id of queuedInRouter) if (!queuedInStore.has(id)) drift.add(`not-queued:${id}`);
  const heldInStore = new Map(snap.assigned.map((c) => [c.id, c.repId]));
  for (const [id, repId] of heldInStore) if (view.held.get(id) !== repId) drift.add(`unheld:${id}:${repId}`);
  for (const [id, repId] of view.held) if (heldInStore.get(id) !== repId) drift.add(`orphan:${id}:${repId}`);
  // Queued customers beside a free slot: nothing is wrong in the index, but nobody is dispatching.
  if (snap.queue.length > 0 && snap.reps.some((r) => isEligible(slotOf(r)))) for (const c of snap.queue) drift.add(`stalled:${c.id}`);
  for (const rep of snap.reps) {
    const r = view.reps.get(rep.id);
    if (!r || r.load !== rep.load || r.status !== rep.status || r.maxCapacity !== rep.maxCapacity) {
      drift.add(`rep:${rep.id}:${rep.status}:${rep.maxCapacity}:${rep.load}`);
    }
  }
  return drift;
}

export class RoutingReconciler {
  private previous = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(
    private readonly ctx: ServiceContext,
    /** Only one instance at a time needs to look; the others skip the pass. */
    private readonly tryLock: () => Promise<boolean>,
    private readonly onRebuild: (drift: string[]) => void = () => undefined,
  ) {}

  start(intervalMs: number): void {
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = true;
      this.pass()
        .catch(() => undefined)
        .finally(() => (this.running = false));
    }, intervalMs);
    this.timer.unref();
  }

  /** One comparison; rebuilds when some difference was already there on the previous pass. */
  async pass(): Promise<boolean> {
    if (!(await this.tryLock())) return false;
    const [snap, view] = await Promise.all([this.ctx.store.routingSnapshot(), this.ctx.router.inspect()]);
    const drift = routingDrift(snap, view);
    const lasting = [...drift].filter((d) => this.previous.has(d));
    this.previous = drift;
    if (lasting.length === 0) return false;
    await this.ctx.lock.run(() => rebuildRouting(this.ctx));
    this.previous = new Set();
    this.onRebuild(lasting);
    await this.ctx.bus.publish({ kind: 'queue_changed' });
    return true;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
