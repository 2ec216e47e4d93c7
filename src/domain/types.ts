// The nouns of Switchboard as plain data: users, profiles, conversations, messages.

export type Role = 'customer' | 'rep' | 'admin';
export type ConversationStatus = 'new' | 'queued' | 'assigned' | 'closed' | 'abandoned';
export type RepStatus = 'online' | 'away' | 'offline';
export type ClosedBy = 'rep' | 'customer' | 'system' | 'admin';

export interface User {
  id: number;
  username: string;
  email: string;
  firstName: string;
  lastName: string;
  role: Role;
  tokenEpoch: number;
  /** False once an admin deactivated the account: no login, refresh or token use. */
  isActive: boolean;
}

export interface CustomerProfile {
  id: number;
  userId: number;
  phoneNumber: number;
}

export interface RepProfile {
  id: number;
  userId: number;
  maxCapacity: number;
  status: RepStatus;
  load: number;
  lastAssignedAt: number | null;
  watched: boolean;
  /** 'manual' when the rep set itself offline, 'presence' when its console went away. */
  offlineReason: 'manual' | 'presence' | null;
  /** Grows each time its agent socket comes back: presence's offline transition is conditional on it. */
  presenceGen?: number;
}

/** A user with whichever profile its role carries. */
export interface Identity {
  user: User;
  customer?: CustomerProfile;
  rep?: RepProfile;
}

export interface Conversation {
  id: string;
  customerId: number;
  repId: number | null;
  status: ConversationStatus;
  queueSeq: number | null;
  queuedAt: number | null;
  assignedAt: number | null;
  closedAt: number | null;
  closedBy: string | null;
  lastSeq: number;
  version: number;
  rating: number | null;
  ratingComment: string | null;
  createdAt: number;
  /** Grows each time its customer's socket comes back: the abandon is conditional on it. */
  presenceGen?: number;
}

export interface Message {
  id: number;
  conversationId: string;
  authorId: number;
  username: string;
  text: string;
  seq: number;
  clientId: string | null;
  timestamp: number;
}

export interface ConversationWithLatest extends Conversation {
  latestMessage: Message | null;
}

export interface RepWithUser extends RepProfile {
  user: User;
}

/** What the router is rebuilt from: a consistent read of the store's routing state. */
export interface RoutingSnapshot {
  reps: RepProfile[];
  /** Queued conversations in queue order (by queue_seq). */
  queue: Conversation[];
  /** Open assignments. */
  assigned: Conversation[];
  /** The highest queue_seq the store has committed: a rebuilt router hands out seqs above it. */
  queueSeqFloor: number;
}
