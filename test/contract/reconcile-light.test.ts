// The reconciler's light pass: with a router that keeps a queue digest (the memory router), a pass whose
// digests agree reads only the queue's head and the store without its queue, so that a pass at 100,000 queued
// does not stall the process; a queue that disagrees (in count or in which seqs) is still compared whole,
// found and repaired.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqlite } from '../../src/store/open.ts';
import type { Store } from '../../src/store/port.ts';
import type { SqlStore } from '../../src/store/sql-store.ts';
import type { Router } from '../../src/routing/port.ts';
import { MemoryRouter } from '../../src/routing/memory-router.ts';
import { MemoryBus } from '../../src/bus/memory-bus.ts';
import { ServiceContext } from '../../src/services/context.ts';
import { enqueueConversation } from '../../src/services/enqueue.ts';
import { RoutingReconciler, routingDrift } from '../../src/services/reconcile.ts';
import { registerRep, updateRepSettings } from '../../src/services/reps.ts';
import { closeConversation } from '../../src/services/close.ts';
import { transferConversation } from '../../src/services/transfer.ts';
import { faulty } from '../helpers/faults.ts';
import { fakeUser } from '../helpers/routing-modes.ts';

const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  for (const c of cleanups) await c();
});

async function world() {
  const dir = mkdtempSync(join(tmpdir(), 'sb-reconcile-light-'));
  const real: SqlStore = await openSqlite({ file: join(dir, 'db.sqlite3') });
  cleanups.push(async () => {
    await real.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const store = faulty<Store>(real);
  const memory = new MemoryRouter();
  const router = faulty<Router>(memory);
  const ctx = new ServiceContext(store.proxy, router.proxy, new MemoryBus());
  await memory.rebuild(await real.routingSnapshot());
  const customer = (await real.createCustomer(fakeUser('c'), 1)).profile;
  const queue = async (n: number) => {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) ids.push((await enqueueConversation(ctx, (await real.createConversation(customer.id, Date.now())).id)).conversation.id);
    return ids;
  };
  // What each pass read: the store's snapshot options and the router's inspect options.
  const reads: Array<{ snapshot?: { queue?: boolean }; inspect?: { queueLimit?: number } }> = [];
  store.on('routingSnapshot', (realFn, opts) => (reads.push({ snapshot: opts ?? {} }), realFn(opts)));
  router.on('inspect', (realFn, opts) => (reads.push({ inspect: opts ?? {} }), realFn(opts)));
  const drift = async () => [...routingDrift(await real.routingSnapshot(), await memory.inspect())];
  return { real, memory, ctx, queue, reads, drift };
}

describe('reconciler light pass (memory router)', () => {
  it('keeps a digest of the confirmed queue through admissions, removals and rebuilds', async () => {
    const w = await world();
    const ids = await w.queue(5);
    const sum = async () => (await w.real.queueDigest()).seqSum;
    assert.deepEqual(await w.memory.digest(), { length: 5, seqSum: await sum(), pending: 0 });
    const c = await w.real.createConversation((await w.real.getConversation(ids[0]))!.customerId, Date.now());
    await w.memory.admit({ conversationId: c.id, customerId: c.customerId, queuedAt: Date.now(), version: c.version + 1 });
    assert.deepEqual(await w.memory.digest(), { length: 5, seqSum: await sum(), pending: 1 }, 'a pending admission counted as committed');
    await w.memory.remove(c.id);
    await w.memory.remove(ids[2]);
    await w.real.closeConversation(ids[2], 'system', Date.now());
    assert.deepEqual(await w.memory.digest(), { length: 4, seqSum: await sum(), pending: 0 });
    await w.memory.rebuild(await w.real.routingSnapshot());
    assert.deepEqual(await w.memory.digest(), { length: 4, seqSum: await sum(), pending: 0 });
  });

  it('keeps the digest right through every routing path: dispatch, close and next, requeue, transfer to the queue, a refused proposal', async () => {
    const w = await world();
    const check = async (step: string) => {
      // What the digest must be, from the router's own queue (pending entries apart) and from the store.
      const view = await w.memory.inspect();
      const queue = (await w.memory.queue()).filter((e) => !view.pending.includes(e.conversationId));
      const expected = { length: queue.length, seqSum: queue.reduce((a, e) => a + e.queueSeq, 0), pending: view.pending.length };
      assert.deepEqual(await w.memory.digest(), expected, `after ${step}`);
      const stored = await w.real.queueDigest();
      assert.deepEqual({ length: expected.length, seqSum: expected.seqSum }, stored, `router and store after ${step}`);
    };
    const ids = await w.queue(8);
    await check('enqueues');
    const r1 = (await w.real.createRep(fakeUser('r'), 2)).profile;
    await registerRep(w.ctx, r1);
    await check('dispatch to a new rep');
    const held = await w.real.assignedTo(r1.id);
    await closeConversation(w.ctx, { conversationId: held[0].id, by: 'rep', closingRepId: r1.id });
    await check('close and next');
    await transferConversation(w.ctx, held[1].id, null, r1.id);
    await check('transfer to the queue');
    await updateRepSettings(w.ctx, r1.id, { status: 'offline' });
    await check('rep offline (requeue)');
    // A proposal the store refuses (its conversation closed behind the router's back) goes through reject.
    await w.real.closeConversation(ids[7], 'system', Date.now());
    const r2 = (await w.real.createRep(fakeUser('r'), 8)).profile;
    await registerRep(w.ctx, r2);
    await check('dispatch with a refused proposal');
    assert.equal((await w.memory.digest()).length, 0, 'the queue did not drain');
  });

  it('reads only the head of the queue while the digests agree', async () => {
    const w = await world();
    await w.queue(20);
    const reconciler = new RoutingReconciler(w.ctx, async () => true);
    assert.equal(await reconciler.pass(), false);
    assert.deepEqual(
      w.reads,
      [{ inspect: { queueLimit: 1 } }, { snapshot: { queue: false } }, { inspect: { queueLimit: 1 } }],
      'a pass with the digests in agreement read the whole queue',
    );
  });

  it('compares the whole queue when it disagrees, and repairs it: an entry missing, or another in its place', async () => {
    const w = await world();
    const ids = await w.queue(6);
    // Missing: the router lost an entry the store has queued.
    await w.memory.remove(ids[1]);
    // In its place: the router holds one the store closed, the store one the router lacks, same count.
    await w.real.closeConversation(ids[4], 'system', Date.now());
    const reconciler = new RoutingReconciler(w.ctx, async () => true);
    await reconciler.pass();
    assert.ok(w.reads.some((r) => r.snapshot && r.snapshot.queue !== false), 'the disagreeing queue was not read whole');
    assert.equal(await reconciler.pass(), true, 'the lasting difference was not repaired');
    assert.deepEqual(await w.drift(), []);
    assert.deepEqual((await w.memory.queue()).map((e) => e.conversationId), [ids[0], ids[1], ids[2], ids[3], ids[5]]);
  });
});
