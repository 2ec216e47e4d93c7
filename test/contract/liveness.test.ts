// Liveness of routing, on both modes (SQLite + memory router; PostgreSQL + Redis router): every failure path
// goes back to a state the store agrees with. Each case injects its fault through a seam (a store or router
// that throws, pauses or runs extra steps at a chosen call), never through timing.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Store } from '../../src/store/port.ts';
import { RedisRouter } from '../../src/routing/redis/redis-router.ts';
import type { Router } from '../../src/routing/port.ts';
import { MemoryBus } from '../../src/bus/memory-bus.ts';
import type { Bus } from '../../src/bus/port.ts';
import { ServiceContext } from '../../src/services/context.ts';
import { enqueueConversation } from '../../src/services/enqueue.ts';
import { registerRep, requeueRep } from '../../src/services/reps.ts';
import { closeConversation } from '../../src/services/close.ts';
import { assignProposals } from '../../src/services/assign.ts';
import { rebuildRouting } from '../../src/services/rebuild.ts';
import { RoutingReconciler, routingDrift } from '../../src/services/reconcile.ts';
import { faulty, Gate, until } from '../helpers/faults.ts';
import { sql } from 'kysely';
import { fakeUser, routingModes, type RoutingMode } from '../helpers/routing-modes.ts';

const { modes, redis } = await routingModes('liveness', { poolSize: 6 });
type Mode = RoutingMode;
const user = fakeUser;

async function world(mode: Mode, opts: { bus?: Bus } = {}) {
  const real = await mode.store();
  const store = faulty<Store>(real);
  const router = faulty<Router>(mode.router(real));
  const bus = opts.bus ?? new MemoryBus();
  const ctx = new ServiceContext(store.proxy, router.proxy, bus);
  await router.proxy.rebuild(await real.routingSnapshot());
  const rep = async (capacity: number) => {
    const r = (await real.createRep(user('r'), capacity)).profile;
    await registerRep(ctx, r);
    return r;
  };
  const conversation = async () => {
    const c = (await real.createCustomer(user('c'), 1)).profile;
    return real.createConversation(c.id, Date.now());
  };
  const drift = async () => [...routingDrift(await real.routingSnapshot(), await router.proxy.inspect())];
  /** Another instance: its own context (and routing lock) on the same store and router, without the fault seams. */
  const otherInstance = () => new ServiceContext(real, router.proxy, new MemoryBus());
  return { real, store, router, bus, ctx, rep, conversation, drift, otherInstance };
}

/** A rep registered through another instance's context. */
async function registerRepWith(ctx: ServiceContext, store: Store, capacity: number) {
  const r = (await store.createRep(user('r'), capacity)).profile;
  await registerRep(ctx, r);
  return r;
}

for (const mode of modes) {
  describe(`liveness on ${mode.name}`, { skip: mode.skip }, () => {
    it('takes a rep offline as one unit: a failure midway never leaves an offline rep holding chats', async () => {
      const w = await world(mode);
      const rep = await w.rep(2);
      const a = await w.conversation();
      const b = await w.conversation();
      await enqueueConversation(w.ctx, a.id);
      await enqueueConversation(w.ctx, b.id);
      assert.equal((await w.real.assignedTo(rep.id)).length, 2);
      // The second per-chat requeue fails (a PostgreSQL error, a crash, a SIGTERM in between).
      let requeues = 0;
      w.store.on('requeue', async (real, ...args) => {
        if (++requeues === 2) throw new Error('injected: the store failed midway');
        return real(...args);
      });
      await requeueRep(w.ctx, rep.id).catch(() => undefined);
      const after = await w.real.getRep(rep.id);
      const held = await w.real.assignedTo(rep.id);
      assert.ok(after?.status !== 'offline' || held.length === 0, `an offline rep still holds ${held.length} chat(s)`);
      assert.equal(after?.status, 'offline');
      for (const c of [a, b]) assert.equal((await w.real.getConversation(c.id))?.status, 'queued');
      assert.deepEqual(await w.drift(), []);
    });

    it('finishes an offline that did not finish (a rep offline in the store with chats left), through the reconciler', async () => {
      const w = await world(mode);
      const rep = await w.rep(1);
      const other = await w.rep(0);
      const a = await w.conversation();
      await enqueueConversation(w.ctx, a.id);
      // What a process stopped between the two halves of the old offline left behind.
      await w.real.updateRep(rep.id, { status: 'offline', offlineReason: 'presence' });
      await w.real.updateRep(other.id, { maxCapacity: 1 });
      const reconciler = new RoutingReconciler(w.ctx, async () => true);
      await reconciler.pass();
      await reconciler.pass();
      await reconciler.pass();
      assert.deepEqual(await w.real.assignedTo(rep.id), [], 'the offline rep still holds its chat');
      const now = await w.real.getConversation(a.id);
      assert.ok(now?.status === 'queued' || (now?.status === 'assigned' && now.repId === other.id), `the chat is ${now?.status}`);
    });

    it('settles a proposal whose store commit failed, instead of dropping it with its reserved slot', async () => {
      const w = await world(mode);
      const rep = await w.rep(1);
      const a = await w.conversation();
      let fails = 1;
      w.store.on('assign', async (real, ...args) => {
        if (fails-- > 0) throw new Error('injected: the assignment transaction failed');
        return real(...args);
      });
      await enqueueConversation(w.ctx, a.id).catch(() => undefined);
      const now = await w.real.getConversation(a.id);
      assert.equal(now?.status, 'assigned', 'the conversation is stranded');
      assert.equal(now?.repId, rep.id);
      assert.deepEqual(await w.drift(), []);
    });

    it('keeps committing the other proposals when a publish fails after a commit, and reports a fan-out gap', async () => {
      const inner = new MemoryBus();
      const bus = faulty<Bus>(inner);
      const w = await world(mode, { bus: bus.proxy });
      const a = await w.conversation();
      const b = await w.conversation();
      await enqueueConversation(w.ctx, a.id);
      await enqueueConversation(w.ctx, b.id);
      let gaps = 0;
      w.ctx.onFanoutGap?.(() => gaps++);
      let failed = false;
      bus.on('publish', async (real, event) => {
        if (event.kind === 'assigned' && !failed) {
          failed = true;
          throw new Error('injected: the fan-out is down');
        }
        return real(event);
      });
      // A rep with two free slots takes both; the first announcement is lost.
      await w.rep(2).catch(() => undefined);
      for (const c of [a, b]) assert.equal((await w.real.getConversation(c.id))?.status, 'assigned', `${c.id} was dropped`);
      assert.deepEqual(await w.drift(), []);
      assert.equal(gaps, 1);
    });

    it('leaves nothing in the router when the enqueue COMMIT fails', async () => {
      const w = await world(mode);
      await w.rep(0);
      const a = await w.conversation();
      // The transaction never commits: the store is left as it was, after the router admitted a.
      w.store.on('enqueueMany', async () => {
        throw new Error('injected: COMMIT failed');
      });
      await assert.rejects(enqueueConversation(w.ctx, a.id));
      assert.equal((await w.real.getConversation(a.id))?.status, 'new');
      assert.deepEqual((await w.router.proxy.inspect()).queued, [], 'the router holds a conversation the store has as new');
      assert.deepEqual(await w.drift(), []);
    });

    it('routes a COMMIT that reported failure but happened: the caller is queued and the entry is offered', async () => {
      const w = await world(mode);
      await w.rep(0);
      const a = await w.conversation();
      w.store.on('enqueueMany', async (real, ids, now, places) => {
        await real(ids, now, places);
        throw new Error('injected: the COMMIT answer was lost');
      });
      const out = await enqueueConversation(w.ctx, a.id);
      assert.equal(out.conversation.status, 'queued');
      w.store.off('enqueueMany');
      const view = await w.router.proxy.inspect();
      assert.deepEqual([view.queued, view.pending], [[a.id], []], 'queued and confirmed');
      // Offered as soon as a slot opens.
      const rep = await w.rep(1);
      assert.equal((await w.real.getConversation(a.id))?.repId, rep.id);
      assert.deepEqual(await w.drift(), []);
    });

    it('holds no store transaction while the router answers: another enqueue commits meanwhile, behind the admitted place', async () => {
      const w = await world(mode);
      await w.rep(0);
      const b = await w.conversation();
      // The second step's `a` is a new conversation; b is enqueued once, during the first.
      for (const step of ['admit', 'confirm'] as const) {
        const a = await w.conversation();
        const gate = new Gate();
        const stall = async (real: (arg: unknown) => Promise<unknown>, arg: string | { conversationId: string }) => {
          const out = await real(arg);
          if ((typeof arg === 'string' ? arg : arg.conversationId) === a.id) await gate.pass();
          return out;
        };
        w.router.on(step, stall as never);
        const first = enqueueConversation(w.ctx, a.id);
        await gate.reached;
        if (mode.shared) {
          const open = await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity
            where datname = current_database() and state like 'idle in transaction%'`.execute(w.real.db);
          assert.equal(open.rows[0].n, 0, `a transaction is open while the router's ${step} answers`);
        }
        if (step === 'admit') {
          // Another instance's enqueue (its own context and routing lock, the same store and router) is not
          // held up: a hang here is the failure, and the bound only turns it into one.
          let done = false;
          const other = enqueueConversation(w.otherInstance(), b.id).then((o) => ((done = true), o));
          await until(() => done, `an enqueue while the router's ${step} stalls`);
          assert.equal((await other).conversation.status, 'queued');
        }
        gate.open();
        await first;
        w.router.off(step);
        if (step === 'admit') {
          const [qa, qb] = [await w.real.getConversation(a.id), await w.real.getConversation(b.id)];
          assert.equal(qa?.status, 'queued');
          assert.ok(qa!.queueSeq! < qb!.queueSeq!, 'the admitted place comes first');
          const places = await w.router.proxy.positions([a.id, b.id]);
          assert.deepEqual(places.map((p) => p.position), [1, 2]);
        } else assert.equal((await w.real.getConversation(a.id))?.status, 'queued');
      }
      assert.deepEqual((await w.router.proxy.inspect()).pending, []);
      assert.deepEqual(await w.drift(), []);
    });

    it('tells exact first places while admissions and commits interleave across two instances', async () => {
      const w = await world(mode);
      await w.rep(0);
      const ctx2 = w.otherInstance();
      const a = await w.conversation();
      const b = await w.conversation();
      const gate = new Gate();
      // a is admitted first, and its commit waits until b (admitted second) has committed and been confirmed.
      w.store.on('enqueueMany', async (real, ids, now, places) => {
        if (ids.includes(a.id)) await gate.pass();
        return real(ids, now, places);
      });
      const places = new Map<string, number>();
      const first = enqueueConversation(w.ctx, a.id, { onQueued: (p) => places.set(a.id, p) });
      await gate.reached;
      await enqueueConversation(ctx2, b.id, { onQueued: (p) => places.set(b.id, p) });
      gate.open();
      await first;
      assert.deepEqual([places.get(a.id), places.get(b.id)], [1, 2], 'two customers were told the same place, or b jumped a');
      const rep = await w.rep(1);
      assert.equal((await w.real.getConversation(a.id))?.repId, rep.id, 'the first admitted is served first');
      assert.deepEqual(await w.drift(), []);
    });

    it('offers a conversation whose enqueue committed while a later one is still pending (nobody waits behind a stalled admission)', async () => {
      const w = await world(mode);
      const ctx2 = w.otherInstance();
      await w.rep(0);
      const a = await w.conversation();
      const b = await w.conversation();
      const gate = new Gate();
      w.store.on('enqueueMany', async (real, ids, now, places) => {
        if (ids.includes(a.id)) await gate.pass();
        return real(ids, now, places);
      });
      const first = enqueueConversation(w.ctx, a.id);
      await gate.reached;
      await enqueueConversation(ctx2, b.id);
      // a is pending at the head; b is committed behind it: a free slot goes to b, never to a (not yet queued).
      const rep = await registerRepWith(ctx2, w.real, 1);
      assert.equal((await w.real.getConversation(b.id))?.repId, rep.id);
      assert.equal(await w.router.proxy.position(a.id), 1, 'the pending entry was offered (and lost its place)');
      gate.open();
      await first;
      assert.equal((await w.real.getConversation(a.id))?.status, 'queued');
      assert.deepEqual(await w.drift(), []);
    });

    it('a close between an enqueue\'s COMMIT and its confirm leaves no ghost entry in the router', async () => {
      const w = await world(mode);
      await w.rep(0);
      const ctx2 = w.otherInstance();
      const a = await w.conversation();
      const gate = new Gate();
      w.router.on('confirm', async (real, id) => {
        await gate.pass();
        return real(id);
      });
      const first = enqueueConversation(w.ctx, a.id);
      await gate.reached;
      // Committed as queued, not yet confirmed: another instance closes it.
      await closeConversation(ctx2, { conversationId: a.id, by: 'system' });
      gate.open();
      await first;
      assert.equal((await w.real.getConversation(a.id))?.status, 'closed');
      assert.deepEqual((await w.router.proxy.inspect()).queued, [], 'the closed conversation is back in the queue');
      assert.deepEqual(await w.drift(), []);
    });

    it('a failed enqueue does not take out the entry another instance\'s enqueue of the same conversation committed', async () => {
      const w = await world(mode);
      await w.rep(0);
      const ctx2 = w.otherInstance();
      const a = await w.conversation();
      w.store.on('enqueueMany', async () => {
        throw new Error('injected: COMMIT failed');
      });
      // The failed one takes its admission back only after the other tab, on another instance, enqueued it.
      w.router.on('unadmit', async (real, id, seq) => {
        w.router.off('unadmit');
        const other = await enqueueConversation(ctx2, a.id);
        assert.equal(other.conversation.status, 'queued');
        return real(id, seq);
      });
      await assert.rejects(enqueueConversation(w.ctx, a.id));
      assert.equal((await w.real.getConversation(a.id))?.status, 'queued');
      assert.equal(await w.router.proxy.position(a.id), 1, 'the committed entry was taken out');
      const rep = await registerRepWith(ctx2, w.real, 1);
      assert.equal((await w.real.getConversation(a.id))?.repId, rep.id);
      assert.deepEqual(await w.drift(), []);
    });

    it('the reconciler removes an admission whose instance died before its COMMIT, and confirms one whose confirm was lost', async () => {
      const w = await world(mode);
      await w.rep(0);
      const dead = await w.conversation();
      const lost = await w.conversation();
      // An instance admitted `dead` and stopped.
      await w.router.proxy.admit({ conversationId: dead.id, customerId: dead.customerId, queuedAt: Date.now(), version: dead.version + 1 });
      // Another committed `lost` and stopped before its confirm.
      w.router.on('confirm', async () => {
        throw new Error('injected: Redis went away');
      });
      const out = await enqueueConversation(w.ctx, lost.id);
      assert.equal(out.conversation.status, 'queued');
      w.router.off('confirm');
      assert.deepEqual(new Set((await w.router.proxy.inspect()).pending), new Set([dead.id, lost.id]));
      assert.deepEqual(new Set(await w.drift()), new Set([`not-queued:${dead.id}`, `unconfirmed:${lost.id}`]));
      const reconciler = new RoutingReconciler(w.ctx, async () => true);
      await reconciler.pass();
      assert.equal(await reconciler.pass(), true, 'the second pass repairs what lasted');
      const view = await w.router.proxy.inspect();
      assert.deepEqual([view.queued, view.pending], [[lost.id], []]);
      assert.deepEqual(await w.drift(), []);
      const rep = await w.rep(1);
      assert.equal((await w.real.getConversation(lost.id))?.repId, rep.id, 'the repaired entry is offered');
    });

    it('does not mistake steady churn for drift: a close straddling every snapshot triggers no rebuild', async () => {
      const w = await world(mode);
      const rep = await w.rep(1);
      const convs = [];
      for (let i = 0; i < 5; i++) convs.push(await w.conversation());
      for (const c of convs) await enqueueConversation(w.ctx, c.id);
      // Every snapshot is read while a close is half done: committed in the store, not yet released in the
      // router; the router half (release, next assignment) follows right after the read.
      w.store.on('routingSnapshot', async (real) => {
        const held = await w.real.assignedTo(rep.id);
        if (held.length === 0) return real();
        await w.real.closeConversation(held[0].id, 'system', Date.now());
        const snap = await real();
        await assignProposals(w.ctx, await w.router.proxy.releaseAndDispatch(held[0].id, rep.id));
        return snap;
      });
      let rebuilds = 0;
      const reconciler = new RoutingReconciler(w.ctx, async () => true, () => rebuilds++);
      for (let i = 0; i < 3; i++) await reconciler.pass();
      assert.equal(rebuilds, 0, 'a rebuild for routine churn');
      w.store.off('routingSnapshot');
      assert.deepEqual(await w.drift(), []);
    });

    it('a forced rebuild erases nothing another instance did between its snapshot and its load', { skip: mode.name.startsWith('SQLite') ? 'one process: the routing lock already serializes it' : false }, async () => {
      const w = await world(mode);
      await w.rep(0);
      // A second instance: its own context on the same store and the same Redis state.
      const r2 = new RedisRouter(redis!, { prefix: (w.router.proxy as RedisRouter).key('epoch').split(':{')[0], hashTag: 'sb', snapshot: () => w.real.routingSnapshot(), rebuildPollMs: 5 });
      const ctx2 = new ServiceContext(w.real, r2, new MemoryBus());
      const x = await w.conversation();
      const gate = new Gate();
      w.store.on('routingSnapshot', async (real) => {
        const snap = await real();
        await gate.pass();
        return snap;
      });
      const rebuild = w.ctx.lock.run(() => rebuildRouting(w.ctx));
      await gate.reached;
      // The other instance admits x after the snapshot was read (the fence makes it wait for the load).
      let routing = false;
      const admit = r2.admit.bind(r2);
      r2.admit = (entry) => {
        routing = true;
        return admit(entry);
      };
      const enqueued = enqueueConversation(ctx2, x.id);
      await until(() => routing, 'the other instance to route x');
      gate.open();
      await rebuild;
      await enqueued;
      assert.deepEqual((await w.router.proxy.inspect()).queued, [x.id], 'the rebuild erased an enqueue made meanwhile');
      assert.deepEqual(await w.drift(), []);
    });
  });
}
