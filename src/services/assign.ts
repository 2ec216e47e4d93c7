// assignProposals: commits each Router proposal with the store's conditional update (R1), then announces it.
import type { Proposal } from '../routing/port.ts';
import type { Conversation } from '../domain/types.ts';
import type { AssignResult } from '../store/port.ts';
import { entryOf, slotOf, type ServiceContext } from './context.ts';

const MAX_ROUNDS = 10_000;
/** Failures in a row after which the rest is left to the reconciler (the store is likely down). */
const MAX_FAILURES = 3;
/** Assignments in one transaction at most (synchronous on SQLite: one transaction must not stall the loop long). */
const MAX_BATCH = 100;

type Done = Array<{ conversation: Conversation; repId: number }>;

/**
 * Returns the conversations actually assigned, in commit order. No frame is published before its commit.
 * It never drops a proposal: one whose commit failed (or whose outcome is unknown) is settled from a fresh
 * read of the store, and handed back to the router if it did not commit; what cannot be settled (the store
 * is down) stays reserved in the router, where the reconciler finds it.
 * `decided` holds the store's answers to proposals it already committed (a close and its next assignment
 * share one transaction); those are not tried again, only announced or, if refused, handed back.
 */
export async function assignProposals(ctx: ServiceContext, first: Proposal[], decided?: ReadonlyMap<Proposal, AssignResult>): Promise<Done> {
  const done: Done = [];
  const work = [...first];
  let rounds = 0;
  let failures = 0;
  while (work.length > 0 && rounds++ < MAX_ROUNDS) {
    const together = failures === 0 ? undecidedHead(ctx, work, decided) : [];
    if (together.length > 1) {
      work.splice(0, together.length);
      const { next, failed } = await commitTogether(ctx, together, done);
      work.push(...next);
      if (failed) failures++;
      continue;
    }
    const p = work[0];
    try {
      const next = await commitOne(ctx, p, done, decided?.get(p));
      work.shift();
      work.push(...next);
      failures = 0;
    } catch (err) {
      ctx.reportError(err, 'an assignment failed; settling it from the store');
      if (++failures >= MAX_FAILURES) break;
      try {
        const next = await settle(ctx, p, done);
        work.shift();
        work.push(...next);
      } catch (settleErr) {
        ctx.reportError(settleErr, 'settling a failed assignment failed; the reconciler will');
        break;
      }
    }
  }
  if (done.length > 0 || first.length > 0) await ctx.publish({ kind: 'queue_changed' });
  return done;
}

/**
 * SQLite: the proposals at the head of the work that no close decided commit in one transaction (one commit
 * instead of one each: a connect storm's or a capacity raise's assignments), each still the store's conditional
 * update, in order, and each announced only after that commit, in order. PostgreSQL: one each, as for closes
 * (a batch would hold several reps' rows in an order another instance's batch could cross).
 */
function undecidedHead(ctx: ServiceContext, work: Proposal[], decided?: ReadonlyMap<Proposal, AssignResult>): Proposal[] {
  if (ctx.store.dialect !== 'sqlite') return [];
  let n = 0;
  while (n < work.length && n < MAX_BATCH && !decided?.has(work[n])) n++;
  return work.slice(0, n);
}

/**
 * The batch's answers, each announced or handed back in order. A failed batch may have committed, all of it or
 * nothing: each is settled from a fresh read, as a failed single one is. One whose hand-back or fresh read fails
 * stays reserved in the router, where the reconciler finds it.
 */
async function commitTogether(ctx: ServiceContext, together: Proposal[], done: Done): Promise<{ next: Proposal[]; failed: boolean }> {
  let results: AssignResult[] | undefined;
  try {
    results = await ctx.store.assignMany(together, ctx.now());
  } catch (err) {
    ctx.reportError(err, 'a batch of assignments failed; settling each from the store');
  }
  const next: Proposal[] = [];
  for (const [k, p] of together.entries()) {
    try {
      next.push(...(results ? await answered(ctx, p, done, results[k]) : await settle(ctx, p, done)));
    } catch (err) {
      ctx.reportError(err, 'settling an assignment of a batch failed; the reconciler will');
    }
  }
  return { next, failed: !results };
}

/** One proposal: commit, or hand it back with the store's view. Returns the router's next proposals. */
async function commitOne(ctx: ServiceContext, p: Proposal, done: Done, decided?: AssignResult): Promise<Proposal[]> {
  return answered(ctx, p, done, decided ?? (await ctx.store.assign(p.conversationId, p.repId, ctx.now())));
}

/** The store's answer to one proposal: announced once committed, or handed back to the router. */
async function answered(ctx: ServiceContext, p: Proposal, done: Done, result: AssignResult): Promise<Proposal[]> {
  if (result.ok) {
    done.push({ conversation: result.conversation, repId: p.repId });
    await announce(ctx, result.conversation, p.repId);
    return [];
  }
  // The store refused: tell the router what the store knows, and take its next proposals.
  return handBack(ctx, p, result.reason === 'rep');
}

/** After a failure: the commit may or may not have happened, and only a fresh read says which. */
async function settle(ctx: ServiceContext, p: Proposal, done: Done): Promise<Proposal[]> {
  const current = await ctx.store.getConversation(p.conversationId);
  if (current?.status === 'assigned' && current.repId === p.repId) {
    if (!done.some((d) => d.conversation.id === current.id)) {
      done.push({ conversation: current, repId: p.repId });
      await announce(ctx, current, p.repId);
    }
    return [];
  }
  return handBack(ctx, p, true);
}

async function handBack(ctx: ServiceContext, p: Proposal, repSide: boolean): Promise<Proposal[]> {
  const current = await ctx.store.getConversation(p.conversationId);
  const requeue = current && current.status === 'queued' ? entryOf(current) : null;
  const rep = repSide ? await ctx.store.getRep(p.repId) : undefined;
  return ctx.router.reject(p, { requeue, rep: rep ? slotOf(rep) : undefined });
}

/** After the commit nothing may undo it: a failure to announce is a fan-out gap, caught up from the store. */
async function announce(ctx: ServiceContext, conversation: Conversation, repId: number): Promise<void> {
  try {
    const [rep, customer] = await Promise.all([ctx.repCard(repId), ctx.customerCard(conversation.customerId)]);
    if (rep && customer) await ctx.publish({ kind: 'assigned', conversationId: conversation.id, rep, customer, version: conversation.version });
  } catch (err) {
    ctx.noteFanoutGap(err);
  }
}
