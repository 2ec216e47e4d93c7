// One conversation's messages as a client keeps them: ordered by seq, each shown once, with an outbox of
// messages written while offline that go out (once, by client_id) when the socket is back.
import { newClientId } from './api.ts';

export interface ChatMessage {
  seq: number;
  id: number;
  text: string;
  user: string;
  timestamp: string;
  client_id?: string | null;
}

export interface Pending {
  clientId: string;
  text: string;
}

export class ChatLog {
  private bySeq = new Map<number, ChatMessage>();
  pending: Pending[] = [];

  constructor(private readonly outboxKey?: string) {
    if (outboxKey) {
      try {
        this.pending = JSON.parse(sessionStorage.getItem(outboxKey) ?? '[]');
      } catch {
        this.pending = [];
      }
    }
  }

  get lastSeq(): number {
    let max = 0;
    for (const s of this.bySeq.keys()) if (s > max) max = s;
    return max;
  }

  get messages(): ChatMessage[] {
    return [...this.bySeq.values()].sort((a, b) => a.seq - b.seq);
  }

  get firstSeq(): number {
    let min = Infinity;
    for (const s of this.bySeq.keys()) if (s < min) min = s;
    return min === Infinity ? 0 : min;
  }

  /** Adds messages (from a frame or a history page); true when any was new. */
  add(...messages: ChatMessage[]): boolean {
    let changed = false;
    for (const m of messages) {
      if (!this.bySeq.has(m.seq)) {
        this.bySeq.set(m.seq, m);
        changed = true;
      }
      if (m.client_id) changed = this.settle(m.client_id) || changed;
    }
    return changed;
  }

  queue(text: string): Pending {
    const p = { clientId: newClientId(), text };
    this.pending.push(p);
    this.save();
    return p;
  }

  settle(clientId: string): boolean {
    const before = this.pending.length;
    this.pending = this.pending.filter((p) => p.clientId !== clientId);
    if (this.pending.length !== before) this.save();
    return this.pending.length !== before;
  }

  private save() {
    if (this.outboxKey) sessionStorage.setItem(this.outboxKey, JSON.stringify(this.pending));
  }
}

/** A message frame from the server in the shape of a stored message. */
export function frameMessage(f: any): ChatMessage {
  return { seq: f.seq, id: f.id, text: f.message, user: f.user, timestamp: f.timestamp, client_id: f.client_id ?? null };
}
