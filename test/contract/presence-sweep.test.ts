// Presence sweeps read only what has expired, on both modes (SQLite + memory router + an in-memory ordered
// set; PostgreSQL + Redis router + a Redis sorted set): a sweep with nothing expired asks the store nothing
// and never reads the whole queue, and a sweep with k expired handles those k.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import type { FastifyBaseLogger } from 'fastify';
import type { Store } from '../../src/store/port.ts';
import type { Router } from '../../src/routing/port.ts';
import { MemoryBus } from '../../src/bus/memory-bus.ts';
import { ServiceContext } from '../../src/services/context.ts';
import { enqueueConversation } from '../../src/services/enqueue.ts';
import { MemoryLastSeen, RedisLastSeen, type LastSeenSet } from '../../src/realtime/last-seen.ts';
import { PresenceSweeper, SWEEP_MODE } from '../../src/realtime/presence-sweep.ts';
import { uniquePrefix } from '../helpers/redis.ts';
import { faulty } from '../helpers/faults.ts';
import { fakeUser, routingModes, type RoutingMode } from '../helpers/routing-modes.ts';

const { modes: pairs, redis, cleanup } = await routingModes('sweep', { poolSize: 4 });

interface Mode extends RoutingMode {
  set(name: string): LastSeenSet;
}

const modes: Mode[] = pairs.map((m) => ({
  ...m,
  set(name: string): LastSeenSet {
    if (!m.shared) return new MemoryLastSeen();
    const key = `${uniquePrefix('sbtest-presence')}:{sb}:${name}`;
    cleanup(async () => void (await redis!.del(key)));
    return new RedisLastSeen(redis!, key);
  },
}));

const user = fakeUser;
const HOUR = 3_600_000;

for (const mode of modes) {
  describe(`presence sweep: ${mode.name}`, { skip: mode.skip || undefined }, () => {
    it('reads only what has expired: nothing expired costs no store call and no queue read', async () => {
      const real = await mode.store();
      const store = faulty<Store>(real);
      const router = faulty<Router>(mode.router(real));
      const ctx = new ServiceContext(store.proxy, router.proxy, new MemoryBus());
      await router.proxy.rebuild(await real.routingSnapshot());
      const customer = (await real.createCustomer(user('c'), 1)).profile;
      const ids: string[] = [];
      for (let i = 0; i < 300; i++) {
        const c = await real.createConversation(customer.id, Date.now());
        await enqueueConversation(ctx, c.id);
        ids.push(c.id);
      }
      const calls: string[] = [];
      for (const name of ['getConversation', 'abandon', 'listReps', 'getRep'] as const) {
        store.on(name, ((realFn: (...a: unknown[]) => unknown, ...args: unknown[]) => {
          calls.push(name);
          return realFn(...args);
        }) as never);
      }
      router.on('queue', () => Promise.reject(new Error('the sweep read the whole queue')));
      const convs = mode.set('conv');
      const sweeper = new PresenceSweeper(
        ctx,
        mode.set('rep'),
        convs,
        {
          repGraceMs: HOUR,
          customerGraceMs: HOUR,
          repHasSocket: () => false,
          customerHasSocket: () => false,
          localReps: () => [],
          localCustomerConversations: () => [],
          ...(mode.shared ? SWEEP_MODE.shared : SWEEP_MODE.local),
        },
        pino({ level: 'silent' }) as unknown as FastifyBaseLogger,
      );
      // The first sweep follows the queue from its start (every entry's grace starts now) and seeds the reps.
      await sweeper.sweep();
      assert.equal(await convs.size(), 300);
      calls.length = 0;
      await sweeper.sweep();
      assert.deepEqual(calls, [], 'a sweep with nothing expired asked the store');

      // Three customers left long ago: exactly those three are read and abandoned.
      const gone = [ids[7], ids[150], ids[299]];
      for (const id of gone) {
        await convs.remove(id);
        await convs.seed([id], Date.now() - 2 * HOUR);
      }
      await sweeper.sweep();
      assert.equal(calls.filter((c) => c === 'getConversation').length, 3, calls.join(','));
      for (const id of ids) assert.equal((await real.getConversation(id))?.status, gone.includes(id) ? 'abandoned' : 'queued', id);
      assert.equal(await convs.size(), 297);
      assert.equal((await router.proxy.stats()).length, 297);
    });
  });
}
