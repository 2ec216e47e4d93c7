// Data retention: closed conversations older than RETENTION_DAYS are deleted in small batches, with a pause
// between batches; and an admin's export and erasure of one customer's data.
import { notFound } from '../domain/errors.ts';
import type { CustomerExport } from '../store/port.ts';
import { closeConversation } from './close.ts';
import type { ServiceContext } from './context.ts';

const DAY_MS = 86_400_000;
const BATCH = 100;
const PAUSE_MS = 50;
const EVERY_MS = 3_600_000;

/** Deletes everything due, one batch at a time; returns how many conversations went. */
export async function deleteExpired(ctx: ServiceContext, retentionDays: number): Promise<number> {
  const cutoff = ctx.now() - retentionDays * DAY_MS;
  let total = 0;
  for (;;) {
    const n = await ctx.store.retention.deleteClosedBefore(cutoff, BATCH);
    total += n;
    if (n < BATCH) return total;
    await new Promise((resolve) => setTimeout(resolve, PAUSE_MS));
  }
}

/** Runs deleteExpired at start and then hourly; several instances doing so is harmless (deletes are idempotent). */
export class RetentionSweeper {
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(
    private readonly ctx: ServiceContext,
    private readonly retentionDays: number | undefined,
    private readonly onError: (err: unknown) => void,
  ) {}

  start(): void {
    if (this.retentionDays === undefined || this.timer) return;
    const days = this.retentionDays;
    const run = () => {
      if (this.running) return;
      this.running = true;
      deleteExpired(this.ctx, days)
        .catch(this.onError)
        .finally(() => (this.running = false));
    };
    this.timer = setInterval(run, EVERY_MS);
    this.timer.unref();
    setTimeout(run, 1000).unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}

export async function exportCustomer(ctx: ServiceContext, userId: number): Promise<CustomerExport> {
  const data = await ctx.store.retention.exportCustomer(userId);
  if (!data) throw notFound('No such customer.');
  return data;
}

/**
 * Erases one customer: its sockets close (logout), its open conversations close (freeing reps' slots, as an
 * admin's close does), then its conversations, messages, tokens and account are deleted.
 */
export async function eraseCustomer(ctx: ServiceContext, userId: number): Promise<void> {
  const identity = await ctx.store.getIdentity(userId);
  if (!identity?.customer) throw notFound('No such customer.');
  await ctx.store.setUserActive(userId, false);
  await ctx.bus.publish({ kind: 'logout', userId });
  for (const c of await ctx.store.listConversations({ kind: 'customer', customerId: identity.customer.id })) {
    if (c.status !== 'closed') await closeConversation(ctx, { conversationId: c.id, by: 'admin' });
  }
  await ctx.store.retention.deleteCustomer(userId);
}
