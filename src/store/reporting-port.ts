// What the supervisor view and /metrics read from the store: live counts, service measures over a
// window, the queue's recent history and a conversation search. Read-only.
import type { Conversation } from '../domain/types.ts';

export interface ServiceMeasures {
  /** Seconds from a conversation's first entry into the queue to the first message a rep wrote in it. */
  firstResponse: { meanS: number | null; medianS: number | null; count: number };
  /** Seconds from the first assignment to the close, over conversations closed in the window. */
  handle: { meanS: number | null; medianS: number | null; count: number };
  /**
   * Of the conversations that entered the queue in the window and are no longer waiting, the share that
   * left without ever being assigned (abandoned, or closed by the customer while queued).
   */
  abandonment: { ratio: number | null; abandoned: number; resolved: number };
  rating: { average: number | null; count: number };
}

export interface QueuePoint {
  at: number;
  queueLength: number;
  longestWaitS: number;
  /** Mean wait of the conversations assigned during the step that ends at `at`; null when none was. */
  meanWaitS: number | null;
  assigned: number;
}

export interface ConversationRow {
  conversation: Conversation;
  customerUsername: string;
  repUsername: string | null;
  leftMessage: boolean;
}

export interface ConversationSearch {
  /** A substring of the customer's username, email or name, case-insensitive. */
  q?: string;
  status?: Conversation['status'];
  limit: number;
  offset: number;
}

export interface ReportingStore {
  openCounts(): Promise<Record<'new' | 'queued' | 'assigned', number>>;
  serviceMeasures(from: number, to: number): Promise<ServiceMeasures>;
  queueSeries(from: number, to: number, stepMs: number): Promise<QueuePoint[]>;
  searchConversations(query: ConversationSearch): Promise<{ rows: ConversationRow[]; total: number }>;
  getConversationRow(id: string): Promise<ConversationRow | undefined>;
}
