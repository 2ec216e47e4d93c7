// One presence sweep, shared by the in-process and the Redis presence: it reads only the reps and
// conversations whose last-seen time is past their grace period (the oldest first, SWEEP_BATCH at most),
// and follows what entered the queue since the last sweep with a queue_seq cursor, so that a conversation
// queued with no socket at all (POST /queue/, or queued before a restart) gets a grace period too. Nothing
// here reads the whole queue or the list of reps on each tick; both cost O(log n + batch).
import type { FastifyBaseLogger } from 'fastify';
import type { ServiceContext } from '../services/context.ts';
import { requeueRep } from '../services/reps.ts';
import { abandonConversation } from '../services/abandon.ts';
import type { LastSeenSet } from './last-seen.ts';
import type { PresenceOptions } from './presence.ts';

/** Members handled per sweep at most (and queue entries followed); the rest waits for the next sweep. */
export const SWEEP_BATCH = 1000;

export interface SweepOptions extends PresenceOptions {
  /**
   * What to do with an expired member that has a socket on this instance: in one process it is simply
   * forgotten (its socket's close puts it back); shared, its time is refreshed for the other instances.
   */
  localSeen: 'forget' | 'refresh';
  /** Shared sets can be lost (a flush): when the conversations' set was lost, follow the queue from its start again. */
  restartCursorWhenEmpty: boolean;
  /**
   * Watched reps are seeded (NX) at the first sweep, and again this often (a shared set may be lost, and
   * another instance may have died holding a rep's only socket); Infinity: only at the first.
   */
  reseedRepsMs: number;
}

/** How the sweep behaves in one process (in-memory sets) and scaled out (Redis sets shared by instances). */
export const SWEEP_MODE = {
  local: { localSeen: 'forget', restartCursorWhenEmpty: false, reseedRepsMs: Infinity },
  shared: { localSeen: 'refresh', restartCursorWhenEmpty: true, reseedRepsMs: 30_000 },
} as const satisfies Record<string, Pick<SweepOptions, 'localSeen' | 'restartCursorWhenEmpty' | 'reseedRepsMs'>>;

export class PresenceSweeper {
  /** The highest queue_seq seen queued: later entries are new to presence. */
  private cursor = 0;
  private lastRepSeed = 0;
  stopped = false;

  constructor(
    private readonly ctx: ServiceContext,
    private readonly reps: LastSeenSet,
    private readonly convs: LastSeenSet,
    private readonly opts: SweepOptions,
    private readonly log: FastifyBaseLogger,
  ) {}

  async sweep(): Promise<void> {
    if (this.stopped) return;
    const now = Date.now();
    await this.seedReps(now);
    await this.followQueue(now);
    await this.sweepReps(now);
    await this.sweepCustomers(now);
  }

  /** Watched reps not seen since a start (or a flush) get a grace period from now. Reps are few. */
  private async seedReps(now: number): Promise<void> {
    // A set lost since the last seed (a flush) is seeded at once: the reps it held get a full grace from now.
    if (this.lastRepSeed > 0 && now - this.lastRepSeed < this.opts.reseedRepsMs && (await this.reps.intact())) return;
    this.lastRepSeed = now;
    const local = new Set(this.opts.localReps());
    const watched = (await this.ctx.store.listReps()).filter((r) => r.watched && r.status !== 'offline' && !local.has(r.id));
    await this.reps.seed(
      watched.map((r) => String(r.id)),
      now,
    );
  }

  /** New queue entries start their grace period now, unless a socket already stamped them. */
  private async followQueue(now: number): Promise<void> {
    if (this.opts.restartCursorWhenEmpty && this.cursor > 0 && !(await this.convs.intact())) this.cursor = 0;
    const fresh = await this.ctx.router.queuedAfter(this.cursor, SWEEP_BATCH);
    if (fresh.length === 0) return;
    await this.convs.seed(
      fresh.map((e) => e.conversationId),
      now,
    );
    this.cursor = fresh[fresh.length - 1].queueSeq;
  }

  private async seenHere(set: LastSeenSet, member: string, now: number): Promise<void> {
    if (this.opts.localSeen === 'forget') await set.remove(member);
    else await set.touch(member, now);
  }

  private async sweepReps(now: number): Promise<void> {
    const grace = this.opts.repGraceMs;
    for (const member of await this.reps.expired(now - grace, SWEEP_BATCH)) {
      if (this.stopped) return;
      const repId = Number(member);
      if (this.opts.repHasSocket(repId)) {
        await this.seenHere(this.reps, member, now);
        continue;
      }
      try {
        const rep = await this.ctx.store.getRep(repId);
        // Gone, unwatched or already offline: nothing to do, and nothing to watch until it connects again.
        if (!rep || !rep.watched || rep.status === 'offline') {
          await this.reps.remove(member);
          continue;
        }
        const stillGone = async () => !this.opts.repHasSocket(repId) && (await this.reps.stillExpired(member, Date.now() - grace));
        if (await requeueRep(this.ctx, repId, stillGone)) await this.reps.remove(member);
      } catch (err) {
        this.log.error({ err, repId }, 'presence requeue failed');
      }
    }
  }

  private async sweepCustomers(now: number): Promise<void> {
    const grace = this.opts.customerGraceMs;
    for (const id of await this.convs.expired(now - grace, SWEEP_BATCH)) {
      if (this.stopped) return;
      if (this.opts.customerHasSocket(id)) {
        await this.seenHere(this.convs, id, now);
        continue;
      }
      try {
        const stillGone = async () => !this.opts.customerHasSocket(id) && (await this.convs.stillExpired(id, Date.now() - grace));
        if (await abandonConversation(this.ctx, id, stillGone)) {
          await this.convs.remove(id);
          continue;
        }
        // Not abandoned and still expired with no socket: it is not queued (any more); a requeue stamps it again.
        if (!this.opts.customerHasSocket(id) && (await this.convs.stillExpired(id, Date.now() - grace))) await this.convs.remove(id);
      } catch (err) {
        this.log.error({ err, conversationId: id }, 'abandon failed');
      }
    }
  }
}
