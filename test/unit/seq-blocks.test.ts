// The memory router's blocked queue answers exactly as the ranked set (a treap) does, through enough
// random inserts and deletes to split, empty and merge many blocks.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SeqBlocks } from '../../src/routing/seq-blocks.ts';
import { RankedSet } from '../../src/routing/ranked-set.ts';

interface E {
  queueSeq: number;
  conversationId: string;
}

const byKey = (a: E, b: E) => a.queueSeq - b.queueSeq || (a.conversationId < b.conversationId ? -1 : a.conversationId > b.conversationId ? 1 : 0);

/** A small deterministic generator, so that a failure repeats. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('SeqBlocks', () => {
  it('agrees with the ranked set on add, delete, rank, at, slice and countBelow', () => {
    const random = rng(42);
    const blocks = new SeqBlocks<E>();
    const reference = new RankedSet<E>(byKey);
    const live: E[] = [];
    let seq = 0;
    for (let step = 0; step < 30_000; step++) {
      const r = random();
      if (r < 0.6 || live.length === 0) {
        // Mostly at the tail; sometimes back at an old place (a requeue), sometimes a tie on queue_seq.
        const e = { queueSeq: r < 0.5 ? ++seq : r < 0.55 ? Math.floor(random() * seq) : seq, conversationId: `c${step}` };
        assert.equal(blocks.add(e), reference.add(e));
        if (reference.has(e) && !live.includes(e)) live.push(e);
      } else {
        // Mostly the head (a dispatch), sometimes anywhere (an abandon).
        const victim = r < 0.85 ? reference.at(0)! : live[Math.floor(random() * live.length)];
        assert.equal(blocks.delete(victim), reference.delete(victim));
        live.splice(live.indexOf(victim), 1);
      }
      assert.equal(blocks.size, reference.size);
      if (step % 97 === 0 && live.length > 0) {
        const probe = live[Math.floor(random() * live.length)];
        assert.equal(blocks.rank(probe), reference.rank(probe));
        const k = Math.floor(random() * reference.size);
        assert.equal(blocks.at(k), reference.at(k));
        assert.deepEqual(blocks.slice(k, 700), reference.slice(k, 700));
        const key = { queueSeq: Math.floor(random() * (seq + 2)), conversationId: '' };
        assert.equal(blocks.countBelow(key), reference.countBelow(key));
        assert.equal(blocks.rank({ queueSeq: -1, conversationId: 'nobody' }), -1);
      }
    }
    assert.deepEqual(blocks.values(), reference.values());
    assert.ok(reference.size > 3000, 'enough entries to span many blocks');
  });
});
