// The conversation state machine: every (state, transition) pair, legal or not.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { assertTransition, canTransition, isOpen, type Transition } from '../../src/domain/conversation.ts';
import { DomainError } from '../../src/domain/errors.ts';
import type { ConversationStatus } from '../../src/domain/types.ts';

const STATES: ConversationStatus[] = ['new', 'queued', 'assigned', 'closed', 'abandoned'];
const TRANSITIONS: Transition[] = ['enqueue', 'assign', 'close', 'requeue', 'transfer', 'abandon', 'rate', 'message'];

// The whole table, written out from DESIGN: the only legal pairs.
const LEGAL: Record<Transition, ConversationStatus[]> = {
  enqueue: ['new', 'abandoned'],
  assign: ['queued'],
  close: ['new', 'queued', 'assigned', 'abandoned'],
  requeue: ['assigned'],
  transfer: ['assigned'],
  abandon: ['queued'],
  rate: ['closed'],
  message: ['new', 'queued', 'assigned'],
};

describe('conversation state machine', () => {
  for (const t of TRANSITIONS) {
    for (const s of STATES) {
      const legal = LEGAL[t].includes(s);
      it(`${legal ? 'allows' : 'refuses'} ${t} from ${s}`, () => {
        assert.equal(canTransition(s, t), legal);
        if (legal) {
          assert.doesNotThrow(() => assertTransition(s, t));
        } else {
          assert.throws(
            () => assertTransition(s, t),
            (err: unknown) => {
              assert.ok(err instanceof DomainError);
              assert.equal(err.status, 409);
              assert.equal(err.code, 'illegal_transition');
              assert.match(err.message, new RegExp(`${t}.*${s}`));
              return true;
            },
          );
        }
      });
    }
  }

  it('names the key cases from DESIGN', () => {
    assert.equal(canTransition('closed', 'close'), false, 'closing a closed conversation');
    assert.equal(canTransition('queued', 'transfer'), false, 'transferring a queued one');
    assert.equal(canTransition('assigned', 'rate'), false, 'rating before the close');
    assert.equal(canTransition('abandoned', 'assign'), false, 'an abandoned conversation is never served');
    assert.equal(canTransition('closed', 'assign'), false, 'a closed conversation is never served');
    assert.equal(canTransition('assigned', 'enqueue'), false, 'enqueue is idempotent: an assigned one stays put');
    assert.equal(canTransition('queued', 'enqueue'), false, 'enqueue is idempotent: a queued one stays put');
  });

  it('treats every state but closed as open', () => {
    assert.deepEqual(
      STATES.filter(isOpen),
      ['new', 'queued', 'assigned', 'abandoned'],
    );
  });
});
