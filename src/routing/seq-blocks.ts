// The memory router's queue: entries ordered by (queueSeq, conversationId), kept in blocks of at most
// BLOCK entries whose keys sit in contiguous arrays, with a Fenwick tree over the blocks' sizes. A rank is
// a binary search over the blocks' first keys, one inside a block and a prefix sum: O(log n), touching a
// few cache lines where a pointer-linked tree of 100,000 nodes misses the cache at every level.
// Insert and delete shift at most one block (O(BLOCK)); a block that fills splits, one that empties goes,
// and small neighbours merge, so there are about n / (BLOCK / 2) blocks at most.

export interface SeqKeyed {
  queueSeq: number;
  conversationId: string;
}

const BLOCK = 512;

function cmp(seqA: number, idA: string, seqB: number, idB: string): number {
  return seqA - seqB || (idA < idB ? -1 : idA > idB ? 1 : 0);
}

interface Block<T> {
  items: T[];
  seqs: number[];
}

export class SeqBlocks<T extends SeqKeyed> {
  private blocks: Block<T>[] = [];
  /** Each block's first queue_seq, side by side: the block search reads only this array (and an id on a tie). */
  private firsts: number[] = [];
  /** Fenwick tree (1-based) over block sizes; rebuilt lazily after blocks are added, removed or merged. */
  private tree: number[] = [0];
  private treeStale = false;
  private total = 0;

  get size(): number {
    return this.total;
  }

  clear(): void {
    this.blocks = [];
    this.firsts = [];
    this.tree = [0];
    this.treeStale = false;
    this.total = 0;
  }

  private rebuildTree(): void {
    const n = this.blocks.length;
    const tree = new Array<number>(n + 1).fill(0);
    for (let i = 1; i <= n; i++) {
      tree[i] += this.blocks[i - 1].items.length;
      const parent = i + (i & -i);
      if (parent <= n) tree[parent] += tree[i];
    }
    this.tree = tree;
    this.treeStale = false;
  }

  private bump(b: number, delta: number): void {
    if (this.treeStale) return;
    for (let i = b + 1; i < this.tree.length; i += i & -i) this.tree[i] += delta;
  }

  /** Entries in blocks before block b. */
  private before(b: number): number {
    if (this.treeStale) this.rebuildTree();
    let sum = 0;
    for (let i = b; i > 0; i -= i & -i) sum += this.tree[i];
    return sum;
  }

  /** The last block whose first key is <= the key (0 when the key precedes everything). */
  private blockFor(seq: number, id: string): number {
    let lo = 0;
    let hi = this.blocks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      const first = this.firsts[mid];
      if (first < seq || (first === seq && this.blocks[mid].items[0].conversationId <= id)) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** The first place in the block whose key is >= the key. */
  private lowerBound(block: Block<T>, seq: number, id: string): number {
    let lo = 0;
    let hi = block.items.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cmp(block.seqs[mid], block.items[mid].conversationId, seq, id) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private find(item: SeqKeyed): { b: number; i: number; found: boolean } {
    if (this.blocks.length === 0) return { b: 0, i: 0, found: false };
    const b = this.blockFor(item.queueSeq, item.conversationId);
    const block = this.blocks[b];
    const i = this.lowerBound(block, item.queueSeq, item.conversationId);
    const found = i < block.items.length && block.seqs[i] === item.queueSeq && block.items[i].conversationId === item.conversationId;
    return { b, i, found };
  }

  /** Adds the item; false when one with the same key is already there. */
  add(item: T): boolean {
    if (this.blocks.length === 0) {
      this.blocks.push({ items: [item], seqs: [item.queueSeq] });
      this.firsts = [item.queueSeq];
      this.treeStale = true;
      this.total = 1;
      return true;
    }
    const { b, i, found } = this.find(item);
    if (found) return false;
    const block = this.blocks[b];
    block.items.splice(i, 0, item);
    block.seqs.splice(i, 0, item.queueSeq);
    this.firsts[b] = block.seqs[0];
    this.total++;
    if (block.items.length > BLOCK) {
      const half = block.items.length >> 1;
      const upper = { items: block.items.splice(half), seqs: block.seqs.splice(half) };
      this.blocks.splice(b + 1, 0, upper);
      this.firsts.splice(b + 1, 0, upper.seqs[0]);
      this.treeStale = true;
    } else this.bump(b, 1);
    return true;
  }

  /** Removes the item with the same key; false when there is none. */
  delete(item: SeqKeyed): boolean {
    const { b, i, found } = this.find(item);
    if (!found) return false;
    const block = this.blocks[b];
    block.items.splice(i, 1);
    block.seqs.splice(i, 1);
    this.total--;
    const next = this.blocks[b + 1];
    if (block.items.length === 0) {
      this.blocks.splice(b, 1);
      this.firsts.splice(b, 1);
      this.treeStale = true;
      return true;
    }
    this.firsts[b] = block.seqs[0];
    if (next && block.items.length + next.items.length <= BLOCK / 2) {
      block.items.push(...next.items);
      block.seqs.push(...next.seqs);
      this.blocks.splice(b + 1, 1);
      this.firsts.splice(b + 1, 1);
      this.treeStale = true;
    } else this.bump(b, -1);
    return true;
  }

  has(item: SeqKeyed): boolean {
    return this.find(item).found;
  }

  /** 0-based place of the item, or -1 when absent. */
  rank(item: SeqKeyed): number {
    const { b, i, found } = this.find(item);
    return found ? this.before(b) + i : -1;
  }

  /** How many items sort below the key (which need not be there): where it would be placed. */
  countBelow(key: SeqKeyed): number {
    if (this.blocks.length === 0) return 0;
    const first = this.blocks[0];
    if (cmp(key.queueSeq, key.conversationId, first.seqs[0], first.items[0].conversationId) <= 0) return 0;
    const { b, i } = this.find(key);
    return this.before(b) + i;
  }

  /** The block holding place `index` and the place inside it (index < size). */
  private locate(index: number): { b: number; i: number } {
    if (this.treeStale) this.rebuildTree();
    // Fenwick descent: the last block whose preceding count is <= index.
    let pos = 0;
    let rest = index;
    let step = 1;
    while (step * 2 < this.tree.length) step *= 2;
    for (; step > 0; step >>= 1) {
      if (pos + step < this.tree.length && this.tree[pos + step] <= rest) {
        pos += step;
        rest -= this.tree[pos];
      }
    }
    return { b: pos, i: rest };
  }

  at(index: number): T | undefined {
    if (index < 0 || index >= this.total) return undefined;
    const { b, i } = this.locate(index);
    return this.blocks[b].items[i];
  }

  /** Up to `count` items from place `start`, in order: O(log n + count). */
  slice(start: number, count: number): T[] {
    const out: T[] = [];
    if (count <= 0 || start >= this.total) return out;
    let { b, i } = this.locate(Math.max(0, start));
    while (b < this.blocks.length && out.length < count) {
      const items = this.blocks[b].items;
      const take = Math.min(items.length - i, count - out.length);
      for (let k = 0; k < take; k++) out.push(items[i + k]);
      b++;
      i = 0;
    }
    return out;
  }

  values(): T[] {
    return this.slice(0, this.total);
  }
}
