// JSON shapes of the original API (and DESIGN's additions), built from domain objects, with their schemas.
import { Type } from 'typebox';
import type { ConversationWithLatest, CustomerProfile, Message, RepProfile, RepWithUser, User } from '../domain/types.ts';

export const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()]);
const NullableInt = Type.Union([Type.Integer(), Type.Null()]);

export const UserSchema = Type.Object({
  id: Type.Integer(),
  username: Type.String(),
  email: Type.String(),
  first_name: Type.String(),
  last_name: Type.String(),
});

export const userJson = (u: User) => ({ id: u.id, username: u.username, email: u.email, first_name: u.firstName, last_name: u.lastName });

export const CustomerSchema = Type.Object({ id: Type.Integer(), user: UserSchema, phone_number: Type.Integer() });
export const customerJson = (user: User, p: CustomerProfile) => ({ id: p.id, user: userJson(user), phone_number: p.phoneNumber });

export const RepSchema = Type.Object({
  id: Type.Integer(),
  user: UserSchema,
  max_capacity: Type.Integer(),
  status: Type.String(),
  load: Type.Integer(),
  last_assigned_at: Nullable(Type.String()),
});
export const repJson = (user: User, r: RepProfile) => ({
  id: r.id,
  user: userJson(user),
  max_capacity: r.maxCapacity,
  status: r.status,
  load: r.load,
  last_assigned_at: iso(r.lastAssignedAt),
});
export const repWithUserJson = (r: RepWithUser) => repJson(r.user, r);

export const MessageSchema = Type.Object({
  id: Type.Integer(),
  text: Type.String(),
  user: Type.String(),
  conversation: Type.String(),
  timestamp: Type.String(),
  seq: Type.Integer(),
  client_id: Nullable(Type.String()),
});
export const messageJson = (m: Message) => ({
  id: m.id,
  text: m.text,
  user: m.username,
  conversation: m.conversationId,
  timestamp: iso(m.timestamp)!,
  seq: m.seq,
  client_id: m.clientId,
});

export const ConversationSchema = Type.Object({
  id: Type.String(),
  customer: Type.Integer(),
  customer_rep: NullableInt,
  latest_message: Type.Union([MessageSchema, Type.Null()]),
  created_at: Type.String(),
  status: Type.String(),
  queued_at: Nullable(Type.String()),
  assigned_at: Nullable(Type.String()),
  closed_at: Nullable(Type.String()),
  closed_by: Nullable(Type.String()),
  queue_seq: NullableInt,
  last_seq: Type.Integer(),
  rating: NullableInt,
  rating_comment: Nullable(Type.String()),
});
export const conversationJson = (c: ConversationWithLatest) => ({
  id: c.id,
  customer: c.customerId,
  customer_rep: c.repId,
  latest_message: c.latestMessage ? messageJson(c.latestMessage) : null,
  created_at: iso(c.createdAt)!,
  status: c.status,
  queued_at: iso(c.queuedAt),
  assigned_at: iso(c.assignedAt),
  closed_at: iso(c.closedAt),
  closed_by: c.closedBy,
  queue_seq: c.queueSeq,
  last_seq: c.lastSeq,
  rating: c.rating,
  rating_comment: c.ratingComment,
});

export const ConversationDetailSchema = Type.Intersect([ConversationSchema, Type.Object({ messages: Type.Array(MessageSchema) })]);

export const ErrorSchema = Type.Object({ detail: Type.String(), code: Type.String() }, { additionalProperties: true });
