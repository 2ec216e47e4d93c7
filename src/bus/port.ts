// The fan-out port: events that services publish after a commit, delivered to every instance's gateway.
import type { Message } from '../domain/types.ts';

export interface RepCard {
  id: number;
  userId: number;
  username: string;
  firstName: string;
}

export interface CustomerCard {
  id: number;
  userId: number;
  username: string;
}

export type BusEvent =
  | { kind: 'message'; conversationId: string; message: Message }
  | { kind: 'typing'; conversationId: string; userId: number; username: string; typing: boolean }
  | { kind: 'read'; conversationId: string; userId: number; username: string; seq: number }
  | {
      kind: 'assigned';
      conversationId: string;
      rep: RepCard;
      customer: CustomerCard;
      fromRep?: RepCard;
      /** The conversation's version after this transition: a socket drops a routing frame older than its last. */
      version?: number;
    }
  | {
      kind: 'requeued';
      conversationId: string;
      customerUserId: number;
      rep: RepCard | null;
      reason: 'transfer' | 'requeued';
      /** Its place once back in the queue (1 when it was offered to another rep at once). */
      position: number;
      version?: number;
    }
  /** A queued customer was abandoned; a socket of it that is open after all puts it back at the tail. */
  | { kind: 'abandoned'; conversationId: string; version: number }
  /** A publish failed after its commit: every instance catches its sockets up from the store. */
  | { kind: 'resync' }
  | {
      kind: 'closed';
      conversationId: string;
      by: 'rep' | 'customer' | 'system';
      reason: string;
      repUserId: number | null;
      /**
       * The rep who held it when it closed. A customer socket that never heard this rep's assignment (its
       * publisher died between the commit and the publish) hears it first, so `closed` never comes unexplained.
       */
      rep?: RepCard;
      /** The socket that sent the close gets the redirect before `closed`. */
      originSocket?: string;
      redirectId?: string;
    }
  | { kind: 'queue_changed' }
  | { kind: 'logout'; userId: number };

export interface Bus {
  publish(event: BusEvent): Promise<void>;
  subscribe(listener: (event: BusEvent) => void): () => void;
  /** Called when events may have been lost (the fan-out reconnected): listeners catch up from the store. */
  onMissed(listener: () => void): () => void;
  close(): Promise<void>;
}
