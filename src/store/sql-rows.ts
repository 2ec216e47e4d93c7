// Row mappers shared by the SQL store's parts: database rows -> domain objects.
import type { Selectable } from 'kysely';
import type { ConversationsTable, RepProfilesTable, UsersTable } from './schema.ts';
import type { Conversation, ConversationStatus, Message, RepProfile, RepStatus, Role, User } from '../domain/types.ts';

export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string };
  return e?.code === '23505' || e?.code === 'SQLITE_CONSTRAINT_UNIQUE' || e?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

export const toUser = (r: Selectable<UsersTable>): User => ({
  id: Number(r.id),
  username: r.username,
  email: r.email,
  firstName: r.first_name,
  lastName: r.last_name,
  role: r.role as Role,
  tokenEpoch: Number(r.token_epoch),
  isActive: Number(r.is_active ?? 1) === 1,
});

export const toRep = (r: Selectable<RepProfilesTable>): RepProfile => ({
  id: Number(r.id),
  userId: Number(r.user_id),
  maxCapacity: Number(r.max_capacity),
  status: r.status as RepStatus,
  load: Number(r.load),
  lastAssignedAt: r.last_assigned_at === null ? null : Number(r.last_assigned_at),
  watched: Number(r.watched) === 1,
  offlineReason: r.offline_reason === 'manual' || r.offline_reason === 'presence' ? r.offline_reason : null,
  presenceGen: Number(r.presence_gen ?? 0),
});

export const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

export const toConversation = (r: Selectable<ConversationsTable>): Conversation => ({
  id: r.id,
  customerId: Number(r.customer_id),
  repId: num(r.rep_id),
  status: r.status as ConversationStatus,
  queueSeq: num(r.queue_seq),
  queuedAt: num(r.queued_at),
  assignedAt: num(r.assigned_at),
  closedAt: num(r.closed_at),
  closedBy: r.closed_by,
  lastSeq: Number(r.last_seq),
  version: Number(r.version),
  rating: num(r.rating),
  ratingComment: r.rating_comment,
  createdAt: Number(r.created_at),
  presenceGen: Number(r.presence_gen ?? 0),
});

export interface MessageJoinRow {
  id: number;
  conversation_id: string;
  author_id: number;
  text: string;
  seq: number;
  client_id: string | null;
  timestamp: number;
  username: string;
}

export const toMessage = (r: MessageJoinRow): Message => ({
  id: Number(r.id),
  conversationId: r.conversation_id,
  authorId: Number(r.author_id),
  username: r.username,
  text: r.text,
  seq: Number(r.seq),
  clientId: r.client_id,
  timestamp: Number(r.timestamp),
});
