// The Store port: every durable read and write the services need. The store is the truth; its
// conditional updates decide every routing transition (DESIGN R1).
import type { RoutingSnapshot } from '../domain/types.ts';
import type { ReportingStore } from './reporting-port.ts';
import type {
  ClosedBy,
  Conversation,
  ConversationWithLatest,
  CustomerProfile,
  Identity,
  Message,
  RepProfile,
  RepStatus,
  RepWithUser,
  Role,
  User,
} from '../domain/types.ts';

export interface NewUser {
  username: string;
  email: string;
  firstName: string;
  lastName: string;
  passwordHash: string;
}

export interface UserWithHash extends User {
  passwordHash: string;
}

/** A user as the admin console lists it: the account and the id of its customer or rep profile. */
export interface UserWithProfile {
  user: User;
  profileId: number | null;
}

export interface UsernameClash {
  user: User;
  /** The older account that holds the canonical name. */
  keptUserId: number;
  usernameKey: string;
  foundAt: number;
}

export interface UserQuery {
  role?: Role;
  /** A substring of the username, email or name, matched case-insensitively. */
  q?: string;
  limit: number;
  offset: number;
}

export type ConversationScope =
  | { kind: 'customer'; customerId: number }
  | { kind: 'rep'; repId: number; history: boolean }
  | { kind: 'all' };

export interface AppendMessage {
  conversationId: string;
  authorId: number;
  text: string;
  clientId: string | null;
  timestamp: number;
  /** The author's username, when the caller knows it, saves a lookup on the hot path. */
  username?: string;
  /**
   * The author's rep profile when a rep writes: stored only while that rep holds the conversation, so a
   * message racing a transfer or requeue cannot land in a chat that is no longer the rep's.
   */
  repId?: number;
}

export type AppendResult =
  | { kind: 'stored'; message: Message }
  | { kind: 'duplicate'; message: Message }
  | { kind: 'refused'; status: string | null };

/** Why a conditional assignment did not happen: the conversation moved on, or the rep can take no more. */
/** Where the router placed a conversation before its enqueue commits (Router.admit). */
export interface AdmittedPlace {
  queueSeq: number;
  /** The version the conversation had when it was admitted; the enqueue commits only at that version. */
  fromVersion: number;
}

export type AssignResult =
  | { ok: true; conversation: Conversation; rep: RepProfile }
  | { ok: false; reason: 'conversation' | 'rep' };

/** An assignment the router proposes; the store decides whether it happens. */
export interface ProposedAssignment {
  conversationId: string;
  repId: number;
}

export interface CloseAndAssignResult<P extends ProposedAssignment> {
  /** The conversation as it was before the close. */
  before: Conversation;
  /** Each proposal `next` returned, with the store's answer; a refused one changed nothing. */
  assigned: Array<{ proposal: P; result: AssignResult }>;
}

/** One close of a closeAndAssignMany, with closeAndAssign's arguments. */
export interface CloseItem<P extends ProposedAssignment> {
  conversationId: string;
  by: ClosedBy;
  heldBy: number | undefined;
  next: (before: Conversation) => Promise<P[]>;
}

/** The outcome of a refresh-token rotation: the user's epoch and role to sign the access token with, or why not. */
export type RotateResult =
  | { kind: 'ok'; epoch: number; role: Role }
  | { kind: 'reused' | 'expired'; familyId: string; userId: number }
  | { kind: 'unknown' | 'inactive' };

/** Everything stored about one customer, for an export before an erasure. */
export interface CustomerExport {
  customerId: number;
  phoneNumber: number;
  conversations: Array<Conversation & { messages: Message[] }>;
}

/** Deleting data on purpose (RETENTION_DAYS, an admin's erasure of one customer). */
export interface RetentionStore {
  /** One batch of closed conversations closed before `cutoff`, oldest first, with their messages; how many went. */
  deleteClosedBefore(cutoff: number, limit: number): Promise<number>;
  exportCustomer(userId: number): Promise<CustomerExport | undefined>;
  /** Deletes the customer's conversations (all closed by then), messages, tokens and account. */
  deleteCustomer(userId: number): Promise<boolean>;
}

export interface Store {
  readonly dialect: 'sqlite' | 'postgres';
  /** Read-only queries for the supervisor view and the service measures. */
  readonly reporting: ReportingStore;
  readonly retention: RetentionStore;
  ping(): Promise<void>;
  close(): Promise<void>;

  // Accounts
  createCustomer(user: NewUser, phoneNumber: number): Promise<{ user: User; profile: CustomerProfile }>;
  createRep(user: NewUser, maxCapacity: number): Promise<{ user: User; profile: RepProfile }>;
  createAdmin(user: NewUser): Promise<User>;
  /**
   * The user with exactly this username, else the one whose canonical name (NFKC + case folding) it matches:
   * "ADMIN" finds "admin", and a user whose name clashed when names were folded still finds itself.
   */
  findUserByUsername(username: string): Promise<UserWithHash | undefined>;
  /** Users that kept no canonical name because an older account held it (see migration 040). */
  listUsernameClashes(): Promise<UsernameClash[]>;
  getIdentity(userId: number): Promise<Identity | undefined>;
  getCustomer(customerId: number): Promise<{ profile: CustomerProfile; user: User } | undefined>;
  bumpTokenEpoch(userId: number): Promise<void>;
  listUsers(query: UserQuery): Promise<UserWithProfile[]>;
  getUserWithProfile(userId: number): Promise<UserWithProfile | undefined>;
  /**
   * Activates or deactivates an account. Both bump the token epoch and revoke every refresh token in the
   * same transaction, so no token issued before the change outlives it.
   */
  setUserActive(userId: number, active: boolean): Promise<User | undefined>;
  /** Replaces the password hash; like deactivation, it ends every session the account had. */
  setPasswordHash(userId: number, passwordHash: string): Promise<boolean>;

  // Refresh-token families
  insertRefreshToken(t: { jti: string; familyId: string; userId: number; expiresAt: number }): Promise<void>;
  /**
   * Marks the token used if it is live; 'reused' when it was used or revoked before; 'expired' when it
   * was never used but its time is up (not a replay, so it says nothing about a leak).
   */
  consumeRefreshToken(jti: string, now: number): Promise<{ kind: 'ok' | 'reused' | 'expired' | 'unknown'; familyId?: string; userId?: number }>;
  rotateRefreshToken(jti: string, now: number, next: { jti: string; familyId: string; userId: number; expiresAt: number }): Promise<RotateResult>;
  logoutUser(userId: number): Promise<void>;
  revokeFamily(familyId: string): Promise<void>;
  revokeUserTokens(userId: number): Promise<void>;

  // Reps
  getRep(repId: number): Promise<RepWithUser | undefined>;
  listReps(): Promise<RepWithUser[]>;
  countOnlineReps(): Promise<number>;
  /** Sets status and/or capacity; returns the rep after the change. */
  updateRep(repId: number, patch: { status?: RepStatus; maxCapacity?: number; watched?: boolean; offlineReason?: 'manual' | 'presence' }): Promise<RepProfile | undefined>;

  // Conversations
  createConversation(customerId: number, now: number): Promise<Conversation>;
  /** Opens one only while the customer has fewer than `maxOpen` open (new, queued, assigned); else undefined. */
  createConversationCapped(customerId: number, now: number, maxOpen: number): Promise<Conversation | undefined>;
  getConversation(id: string): Promise<Conversation | undefined>;
  /** The customer's queued conversations (few: at most MAX_OPEN_CONVERSATIONS are open), by queue_seq. */
  queuedOf(customerId: number): Promise<Conversation[]>;
  getConversationWithLatest(id: string): Promise<ConversationWithLatest | undefined>;
  listConversations(scope: ConversationScope, page?: { limit: number; offset: number }): Promise<ConversationWithLatest[]>;
  countConversations(scope: ConversationScope): Promise<number>;
  hasHeld(conversationId: string, repId: number): Promise<boolean>;
  /** An open conversation now holds a message left for a rep: it stays queued with nobody connected. */
  markLeftMessage(conversationId: string, now: number): Promise<boolean>;

  // Messages
  appendMessage(m: AppendMessage): Promise<AppendResult>;
  /** Newest first. */
  listMessages(conversationId: string, page?: { beforeSeq?: number; limit?: number }): Promise<Message[]>;
  /** Oldest first: every message with seq > afterSeq, for resume and gap filling. */
  messagesAfter(conversationId: string, afterSeq: number, limit?: number): Promise<Message[]>;

  // Routing transitions: each one conditional, each one a transaction.
  /**
   * new|abandoned -> queued, at the tail. With `place` (the router admitted it first: Router.admit), the
   * conversation takes that queue_seq, and only if it is still at `place.fromVersion`; no lock is held while
   * the router answers, since the router, not the store, decides the order. Without, the store hands out
   * the next queue_seq itself (a store used without a router).
   */
  enqueue(conversationId: string, now: number, place?: AdmittedPlace): Promise<Conversation | undefined>;
  /**
   * enqueue() for several conversations in one transaction (one commit), in the order given, each with its
   * place (if any): each is the same conditional transition (a refused one changes nothing and is undefined
   * in the result).
   */
  enqueueMany(conversationIds: readonly string[], now: number, places?: ReadonlyArray<AdmittedPlace | undefined>): Promise<Array<Conversation | undefined>>;
  assign(conversationId: string, repId: number, now: number): Promise<AssignResult>;
  /**
   * assign() for several assignments in one transaction (one commit), in the order given: each is assign()'s
   * conditional update, decided on its own and seeing the ones before it (a rep filled by an earlier one
   * refuses a later one); a refused one changes nothing. Its answer is at its index. An error fails them all
   * (nothing commits).
   */
  assignMany(assignments: ReadonlyArray<ProposedAssignment>, now: number): Promise<AssignResult[]>;
  /**
   * assigned (to fromRepId) -> queued at its original queue_seq; the rep's load drops. With `unopenedSince`,
   * only while the rep has not opened it and it was assigned at or before that time (the accept timeout).
   */
  requeue(conversationId: string, fromRepId: number, now: number, unopenedSince?: number): Promise<Conversation | undefined>;
  /** assigned (to fromRepId) -> assigned to toRepId, if that rep is online with a free slot. */
  transfer(conversationId: string, fromRepId: number, toRepId: number, now: number): Promise<AssignResult>;
  /**
   * Any open state -> closed; frees the rep's slot if it held one. Returns the conversation before the close.
   * With `heldBy`, only while that rep holds it (a rep's close must not land on a chat transferred away meanwhile).
   */
  closeConversation(conversationId: string, by: ClosedBy, now: number, heldBy?: number): Promise<Conversation | undefined>;
  /**
   * closeConversation and the assignments of the slot it frees, in one transaction (one commit where
   * there were two). `next` runs inside it once the close has happened, with the conversation as it was
   * before, and returns the assignments to try; each is assign()'s conditional update, and a refused
   * one changes nothing (the close and the other assignments still commit). Undefined, and `next` never
   * called, when the close itself is refused.
   */
  closeAndAssign<P extends ProposedAssignment>(
    conversationId: string,
    by: ClosedBy,
    now: number,
    heldBy: number | undefined,
    next: (before: Conversation) => Promise<P[]>,
  ): Promise<CloseAndAssignResult<P> | undefined>;
  /**
   * closeAndAssign for several closes in one transaction (one commit), in the order given: each is exactly
   * closeAndAssign's conditional close and assignments, and its outcome (or undefined: refused, nothing
   * changed) is at its index. An error fails them all (nothing commits).
   */
  closeAndAssignMany<P extends ProposedAssignment>(closes: ReadonlyArray<CloseItem<P>>, now: number): Promise<Array<CloseAndAssignResult<P> | undefined>>;
  /**
   * queued -> abandoned, only if still queued and at the given version, and (when given) only if its
   * customer was not seen coming back since `presenceGen` was read.
   */
  abandon(conversationId: string, version: number, now: number, presenceGen?: number): Promise<Conversation | undefined>;
  /** A customer socket came back: bumps the conversation's presence generation, which refuses a racing abandon. */
  markCustomerPresent(conversationId: string): Promise<void>;
  /** A rep's agent socket came back: bumps its presence generation (refusing a racing offline) and marks it watched. */
  markRepPresent(repId: number): Promise<RepProfile | undefined>;
  /**
   * One transaction: the rep goes offline and every conversation it holds goes back to the queue at its
   * queue_seq. With `presenceGen`, only if the rep's agent socket was not seen coming back since it was read.
   */
  takeRepOffline(repId: number, by: 'manual' | 'presence', now: number, presenceGen?: number): Promise<{ rep: RepProfile; requeued: Conversation[] } | undefined>;
  rate(conversationId: string, score: number, comment: string | null): Promise<boolean>;

  /** With `queue: false`, everything but the queue (left empty): the reconciler's light pass. */
  routingSnapshot(opts?: { queue?: boolean }): Promise<RoutingSnapshot>;
  /** The queued conversations' count and queue_seq sum, from the (status, queue_seq) index. */
  queueDigest(): Promise<{ length: number; seqSum: number }>;
  /** Seconds that recent closed conversations were assigned, for wait estimates. */
  recentHandleTimesS(limit: number): Promise<number[]>;
  /** The holding rep opened the chat (its chat socket joined); only the first time counts. */
  markAccepted(conversationId: string, repId: number, now: number): Promise<void>;
  /** Assigned conversations their rep has not opened, assigned at or before the given time, oldest first. */
  unopened(assignedBefore: number, limit: number): Promise<Conversation[]>;
  /** Conversations currently assigned to a rep. */
  assignedTo(repId: number): Promise<Conversation[]>;
}

export type { RoutingSnapshot };

export class UsernameTaken extends Error {
  constructor() {
    super('A user with that username already exists.');
  }
}
