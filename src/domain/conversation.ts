// The conversation lifecycle as an explicit state machine: which transition is legal from which state.
import type { ConversationStatus } from './types.ts';
import { conflict } from './errors.ts';

export type Transition = 'enqueue' | 'assign' | 'close' | 'requeue' | 'transfer' | 'abandon' | 'rate' | 'message';

const LEGAL: Record<Transition, readonly ConversationStatus[]> = {
  // A customer's connect or POST /queue/ puts a new or abandoned conversation in the queue.
  enqueue: ['new', 'abandoned'],
  assign: ['queued'],
  // Anything still open may be closed; closing a queued or new one just ends it.
  close: ['new', 'queued', 'assigned', 'abandoned'],
  // Back to the queue at its original place: the rep left, or transferred it to the queue.
  requeue: ['assigned'],
  transfer: ['assigned'],
  abandon: ['queued'],
  rate: ['closed'],
  message: ['new', 'queued', 'assigned'],
};

/** The states a transition may start from: the store's conditional updates are written from these. */
export function statesAllowing(t: Transition): ConversationStatus[] {
  return [...LEGAL[t]];
}

export function canTransition(from: ConversationStatus, t: Transition): boolean {
  return LEGAL[t].includes(from);
}

/** Throws the 409 that every illegal transition answers with. */
export function assertTransition(from: ConversationStatus, t: Transition): void {
  if (!canTransition(from, t)) {
    throw conflict(`Cannot ${t} a conversation that is ${from}.`, `illegal_transition`);
  }
}

export function isOpen(status: ConversationStatus): boolean {
  return status !== 'closed';
}
