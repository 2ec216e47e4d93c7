// Kysely table types: the one description of the database that both dialects share.
// Times are integer milliseconds since the epoch in both SQLite and PostgreSQL; flags are 0/1 integers.
import type { ColumnType, Generated } from 'kysely';

export interface UsersTable {
  id: Generated<number>;
  username: string;
  email: string;
  first_name: string;
  last_name: string;
  password_hash: string;
  role: string;
  token_epoch: Generated<number>;
  created_at: number;
  /** 0 once an admin deactivated the account. */
  is_active: Generated<number>;
  /** canonicalUsername(username), unique; null for a user that clashed with an older one (see username_clashes). */
  username_key: string | null;
}

/** Users whose folded name an older account already held when usernames became case-insensitive. */
export interface UsernameClashesTable {
  user_id: number;
  username: string;
  username_key: string;
  kept_user_id: number;
  found_at: number;
}

export interface CustomerProfilesTable {
  id: Generated<number>;
  user_id: number;
  phone_number: number;
}

export interface RepProfilesTable {
  id: Generated<number>;
  user_id: number;
  max_capacity: number;
  status: string;
  load: Generated<number>;
  last_assigned_at: number | null;
  /** 1 once the rep has connected /ws/agent/: only then does presence make it offline. */
  watched: Generated<number>;
  offline_reason: ColumnType<string | null, string | null | undefined, string | null>;
  /** Bumped each time the rep's agent socket is seen coming back (see migration 010). */
  presence_gen: Generated<number>;
}

export interface ConversationsTable {
  id: string;
  customer_id: number;
  rep_id: number | null;
  status: string;
  queue_seq: number | null;
  queued_at: number | null;
  assigned_at: number | null;
  closed_at: number | null;
  closed_by: string | null;
  last_seq: Generated<number>;
  version: Generated<number>;
  rating: number | null;
  rating_comment: string | null;
  created_at: number;
  /** Set when the customer left a message for later: such a conversation is never abandoned. */
  left_message_at: ColumnType<number | null, number | null | undefined, number | null>;
  /** Bumped each time the customer's socket is seen coming back (see migration 010). */
  presence_gen: Generated<number>;
  /** When the holding rep first opened the chat; null until then (see ACCEPT_TIMEOUT_MS). */
  accepted_at: ColumnType<number | null, number | null | undefined, number | null>;
}

export interface ConversationHoldersTable {
  conversation_id: string;
  rep_id: number;
  since: number;
}

export interface MessagesTable {
  id: Generated<number>;
  conversation_id: string;
  author_id: number;
  text: string;
  seq: number;
  client_id: string | null;
  timestamp: number;
}

export interface ConversationEventsTable {
  id: Generated<number>;
  conversation_id: string;
  kind: string;
  rep_id: number | null;
  at: number;
}

export interface RefreshTokensTable {
  jti: string;
  family_id: string;
  user_id: number;
  expires_at: number;
  used_at: number | null;
  revoked: Generated<number>;
}

export interface CountersTable {
  name: string;
  value: number;
}

export interface Database {
  users: UsersTable;
  customer_profiles: CustomerProfilesTable;
  rep_profiles: RepProfilesTable;
  conversations: ConversationsTable;
  conversation_holders: ConversationHoldersTable;
  messages: MessagesTable;
  conversation_events: ConversationEventsTable;
  refresh_tokens: RefreshTokensTable;
  counters: CountersTable;
  username_clashes: UsernameClashesTable;
}
