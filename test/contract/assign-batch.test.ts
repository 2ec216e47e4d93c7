// The router's proposals that come together (a capacity raise, a connect storm's batch) commit in one store
// transaction on SQLite (one commit): each is still the store's conditional update, each is announced only after
// that commit and in order, and a batch whose COMMIT failed is settled from fresh reads. On PostgreSQL each keeps
// its own transaction.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Store } from '../../src/store/port.ts';
import type { Router } from '../../src/routing/port.ts';
import type { Bus } from '../../src/bus/port.ts';
import { MemoryBus } from '../../src/bus/memory-bus.ts';
import { ServiceContext } from '../../src/services/context.ts';
import { enqueueConversation } from '../../src/services/enqueue.ts';
import { registerRep, updateRepSettings } from '../../src/services/reps.ts';
import { routingDrift } from '../../src/services/reconcile.ts';
import { faulty } from '../helpers/faults.ts';
import { fakeUser, routingModes } from '../helpers/routing-modes.ts';

const { modes } = await routingModes('assignbatch', { poolSize: 4 });

for (const mode of modes) {
  const batches = mode.name.startsWith('SQLite');
  describe(`assignment batches on ${mode.name}`, { skip: mode.skip }, () => {
    /** A rep of capacity 0 and `queued` conversations waiting for it, in queue order. */
    async function world(queued: number) {
      const real = await mode.store();
      const store = faulty<Store>(real);
      const router = faulty<Router>(mode.router(real));
      const bus = faulty<Bus>(new MemoryBus());
      const ctx = new ServiceContext(store.proxy, router.proxy, bus.proxy);
      ctx.reportError = () => undefined;
      await router.proxy.rebuild(await real.routingSnapshot());
      const rep = (await real.createRep(fakeUser('r'), 0)).profile;
      await registerRep(ctx, rep);
      const convs: string[] = [];
      for (let i = 0; i < queued; i++) {
        const customer = (await real.createCustomer(fakeUser('c'), 1)).profile;
        const id = (await real.createConversation(customer.id, Date.now())).id;
        assert.equal((await enqueueConversation(ctx, id)).assigned, false);
        convs.push(id);
      }
      const log: string[] = [];
      bus.on('publish', (publish, event) => {
        if (event.kind === 'assigned') log.push(`assigned ${convs.indexOf(event.conversationId)}`);
        return publish(event);
      });
      const drift = async () => [...routingDrift(await real.routingSnapshot(), await router.proxy.inspect())];
      return { real, store, ctx, rep, convs, log, drift };
    }

    it(batches ? 'commits the proposals of a capacity raise in one transaction, then announces each in queue order' : 'commits each proposal in its own transaction', async () => {
      const w = await world(5);
      const singles: string[] = [];
      w.store.on('assign', (real, id, repId, now) => {
        singles.push(id);
        w.log.push(`commit ${w.convs.indexOf(id)}`);
        return real(id, repId, now);
      });
      w.store.on('assignMany', async (real, assignments, now) => {
        const out = await real(assignments, now);
        w.log.push(`commit ${assignments.map((a) => w.convs.indexOf(a.conversationId)).join(',')}`);
        return out;
      });
      await updateRepSettings(w.ctx, w.rep.id, { maxCapacity: 3 });
      assert.deepEqual(w.log, batches ? ['commit 0,1,2', 'assigned 0', 'assigned 1', 'assigned 2'] : ['commit 0', 'assigned 0', 'commit 1', 'assigned 1', 'commit 2', 'assigned 2']);
      assert.equal(singles.length, batches ? 0 : 3);
      for (const [k, id] of w.convs.entries()) assert.equal((await w.real.getConversation(id))?.status, k < 3 ? 'assigned' : 'queued');
      assert.equal((await w.real.getRep(w.rep.id))?.load, 3);
      assert.deepEqual(await w.drift(), []);
    });

    // PostgreSQL has no batches: the cases below are SQLite's.
    if (!batches) return;

    it('settles a batch whose COMMIT reported failure from fresh reads: what committed is announced once, nothing is lost', async () => {
      const w = await world(4);
      // The first batch commits but its caller hears an error; the second never commits.
      let calls = 0;
      w.store.on('assignMany', async (real, assignments, now) => {
        if (++calls === 1) {
          await real(assignments, now);
          throw new Error('injected: COMMIT outcome unknown');
        }
        throw new Error('injected: COMMIT failed');
      });
      await updateRepSettings(w.ctx, w.rep.id, { maxCapacity: 2 });
      assert.deepEqual(w.log, ['assigned 0', 'assigned 1'], 'each committed assignment announced once, in order');
      await updateRepSettings(w.ctx, w.rep.id, { maxCapacity: 4 });
      // The failed batch changed nothing; its proposals went back to the router and were committed one by one.
      assert.deepEqual(w.log, ['assigned 0', 'assigned 1', 'assigned 2', 'assigned 3']);
      for (const id of w.convs) assert.equal((await w.real.getConversation(id))?.status, 'assigned');
      assert.equal((await w.real.getRep(w.rep.id))?.load, 4);
      assert.deepEqual(await w.drift(), []);
    });

    it('hands back a proposal the store refused in a batch, and the others still commit', async () => {
      const w = await world(3);
      // Conversation 1 is closed behind the router's back (another instance's close, say): the store refuses it.
      await w.real.closeConversation(w.convs[1], 'system', Date.now());
      await updateRepSettings(w.ctx, w.rep.id, { maxCapacity: 2 });
      assert.deepEqual(w.log, ['assigned 0', 'assigned 2'], 'the refused one is skipped; its slot goes to the next');
      assert.equal((await w.real.getConversation(w.convs[2]))?.status, 'assigned');
      assert.equal((await w.real.getRep(w.rep.id))?.load, 2);
      assert.deepEqual(await w.drift(), []);
    });
  });
}
