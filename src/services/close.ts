// closeConversation: ends a conversation, frees the rep's slot, and hands it to the head of the queue.
import { assertTransition } from '../domain/conversation.ts';
import { conflict, forbidden, notFound } from '../domain/errors.ts';
import type { ClosedBy, Conversation } from '../domain/types.ts';
import type { Proposal } from '../routing/port.ts';
import type { CloseAndAssignResult } from '../store/port.ts';
import { assignProposals } from './assign.ts';
import type { ServiceContext } from './context.ts';
import { LockBatch } from './lock-batch.ts';

export interface CloseRequest {
  conversationId: string;
  by: ClosedBy;
  /**
   * The rep profile that closes, when a rep does: the close happens only while that rep still holds the
   * conversation, and it gets the redirect if the freed slot comes back to it.
   */
  closingRepId?: number;
  originSocket?: string;
  reason?: string;
}

export function closeConversation(ctx: ServiceContext, req: CloseRequest): Promise<{ redirectId: string | null }> {
  // With explainRefusal, a refusal throws: the outcome is never undefined.
  return close(ctx, req, true) as Promise<{ redirectId: string | null }>;
}

/**
 * A rep's close of a chat it holds, with no read before it: the store's conditional update checks that the
 * rep holds it (heldBy), which is all the caller's own check would have found. Resolves undefined, having
 * changed nothing, when the store refuses; the caller then reads the conversation to say why.
 */
export function closeIfHeld(ctx: ServiceContext, req: CloseRequest & { by: 'rep'; closingRepId: number }): Promise<{ redirectId: string | null } | undefined> {
  return close(ctx, req, false);
}

type Closed = { redirectId: string | null };

interface Pending {
  req: CloseRequest;
  explainRefusal: boolean;
  resolve: (out: Closed | undefined) => void;
  reject: (err: unknown) => void;
}

const batches = new WeakMap<ServiceContext, LockBatch<Pending>>();
const MAX_BATCH = 50;

function close(ctx: ServiceContext, req: CloseRequest, explainRefusal: boolean): Promise<Closed | undefined> {
  // PostgreSQL: one transaction per close. A batch would hold several reps' rows at once, in an order that
  // another instance's batch could cross (a deadlock).
  if (ctx.store.dialect !== 'sqlite') {
    return ctx.lock.run(async () => settle(ctx, req, explainRefusal, await ctx.store.closeAndAssign(req.conversationId, req.by, ctx.now(), heldByOf(req), nextOf(ctx))));
  }
  let batch = batches.get(ctx);
  if (!batch) batches.set(ctx, (batch = new LockBatch(ctx.lock, MAX_BATCH, (items) => closeMany(ctx, items))));
  const b = batch;
  return new Promise((resolve, reject) => b.add({ req, explainRefusal, resolve, reject }));
}

const heldByOf = (req: CloseRequest) => (req.by === 'rep' ? req.closingRepId : undefined);

/** Inside the close's transaction: the router frees the slot and proposes the head of the queue for it. */
const nextOf = (ctx: ServiceContext) => async (c: Conversation) => {
  if (c.status === 'assigned' && c.repId !== null) return ctx.router.releaseAndDispatch(c.id, c.repId);
  await ctx.router.remove(c.id, true);
  return [];
};

/*
 * SQLite: closes that arrive together (reps closing chats on a busy desk) share one transaction (LockBatch), in
 * arrival order: one commit instead of one each, the largest single cost of a close. Each is still
 * closeAndAssign's conditional close and assignments, and everything each announces is published after that
 * commit, in arrival order, exactly as for a lone close.
 */
/** Under the routing lock: one transaction for every close of the batch, then each one's frames, in order. */
async function closeMany(ctx: ServiceContext, items: Pending[]): Promise<void> {
  const next = nextOf(ctx);
  const outcomes =
    items.length === 1
      ? [await ctx.store.closeAndAssign(items[0].req.conversationId, items[0].req.by, ctx.now(), heldByOf(items[0].req), next)]
      : await ctx.store.closeAndAssignMany(
          items.map((i) => ({ conversationId: i.req.conversationId, by: i.req.by, heldBy: heldByOf(i.req), next })),
          ctx.now(),
        );
  for (const [k, item] of items.entries()) {
    try {
      item.resolve(await settle(ctx, item.req, item.explainRefusal, outcomes[k]));
    } catch (err) {
      item.reject(err);
    }
  }
}

/** After the commit: the refusal explained, or the assignments committed with the close announced, then the close. */
async function settle(ctx: ServiceContext, req: CloseRequest, explainRefusal: boolean, outcome: CloseAndAssignResult<Proposal> | undefined): Promise<Closed | undefined> {
  // The transaction's conditional updates decided (R1). Only a refusal needs the current state, to say why.
  const heldBy = heldByOf(req);
  if (!outcome) {
    if (!explainRefusal) return undefined;
    const now = await ctx.store.getConversation(req.conversationId);
    if (!now) throw notFound();
    assertTransition(now.status, 'close');
    if (heldBy !== undefined && (now.status !== 'assigned' || now.repId !== heldBy)) throw forbidden('You no longer hold this conversation.');
    throw conflict('The conversation kept changing while it was being closed; try again.', 'conflict');
  }
  const { before } = outcome;
  let redirectId: string | null = null;
  if (before.status === 'assigned' && before.repId !== null) {
    const proposals = outcome.assigned.map((a) => a.proposal);
    const done = await assignProposals(ctx, proposals, new Map(outcome.assigned.map((a) => [a.proposal, a.result])));
    if (req.by === 'rep' && req.closingRepId !== undefined) {
      redirectId = done.find((d) => d.repId === req.closingRepId)?.conversation.id ?? null;
    }
  } else {
    await ctx.publish({ kind: 'queue_changed' });
  }
  const repUser = before.repId !== null && before.status === 'assigned' ? await ctx.repCard(before.repId) : null;
  await ctx.publish({
    kind: 'closed',
    conversationId: before.id,
    by: req.by === 'admin' ? 'system' : req.by,
    reason: req.reason ?? (req.by === 'system' ? 'closed by the system' : `closed by the ${req.by}`),
    repUserId: repUser?.userId ?? null,
    rep: repUser ?? undefined,
    originSocket: req.originSocket,
    redirectId: redirectId ?? undefined,
  });
  return { redirectId };
}
