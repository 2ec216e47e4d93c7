// Admin verbs on accounts: deactivate (its tokens and sockets end at once, a rep's chats go back to the
// queue) and reactivate.
import type { User } from '../domain/types.ts';
import { badRequest, notFound } from '../domain/errors.ts';
import type { ServiceContext } from './context.ts';
import { updateRepSettings } from './reps.ts';

export async function deactivateUser(ctx: ServiceContext, userId: number, byUserId: number): Promise<User> {
  // The last admin must not lock everyone out by accident; another admin can still do it.
  if (userId === byUserId) throw badRequest('You cannot deactivate your own account.', undefined, 'own_account');
  const user = await ctx.store.setUserActive(userId, false);
  if (!user) throw notFound('No such user.');
  // The epoch bump above already refuses the user's tokens; this closes its open sockets on every instance.
  await ctx.publish({ kind: 'logout', userId });
  const identity = await ctx.store.getIdentity(userId);
  // 'manual' offline: after reactivation the rep comes back only when it sets itself online.
  if (identity?.rep) await updateRepSettings(ctx, identity.rep.id, { status: 'offline' });
  return user;
}

export async function reactivateUser(ctx: ServiceContext, userId: number): Promise<User> {
  const user = await ctx.store.setUserActive(userId, true);
  if (!user) throw notFound('No such user.');
  return user;
}
