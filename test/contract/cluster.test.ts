// The Router and Bus contracts, unchanged, on a Redis Cluster of 3 masters started for this file: every key
// a script touches is one of its KEYS and all share one hash tag, or the cluster answers CROSSSLOT.
// Needs redis-server and redis-cli on the PATH; outside CI their absence skips with a reason.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import type { Cluster } from 'ioredis';
import { RedisRouter } from '../../src/routing/redis/redis-router.ts';
import { RedisBus } from '../../src/bus/redis-bus.ts';
import { startRedisCluster, type ThrowawayCluster } from '../helpers/redis-cluster.ts';
import { uniquePrefix } from '../helpers/redis.ts';
import { entry, routerContract, slot } from './router.contract.ts';
import { routerAdmitContract } from './router-admit.contract.ts';
import { routerPagesContract } from './router-pages.contract.ts';
import { busContract, logout, recorder } from './bus.contract.ts';

function missingTools(): string | false {
  for (const tool of ['redis-server', 'redis-cli']) {
    if (spawnSync(tool, ['--version']).status !== 0) {
      const reason = `${tool} is not on the PATH`;
      if (process.env.CI === 'true' || process.env.CI === '1') throw new Error(`${reason}; CI requires it.`);
      console.warn(`SKIPPING Redis Cluster tests: ${reason}`);
      return reason;
    }
  }
  return false;
}

const skip = missingTools();
let cluster: ThrowawayCluster | undefined;
let shared: Cluster | undefined;
const clients: Cluster[] = [];
const buses: RedisBus[] = [];
const runPrefix = uniquePrefix('sbtest-cluster');
let serial = 0;

async function started(): Promise<ThrowawayCluster> {
  cluster ??= await startRedisCluster();
  return cluster;
}

async function client(): Promise<Cluster> {
  if (!shared) {
    shared = (await started()).connect();
    await shared.connect();
  }
  return shared;
}

async function newRouter(): Promise<{ router: RedisRouter; cleanup(): Promise<void> }> {
  const router = new RedisRouter(await client(), { prefix: `${runPrefix}-${++serial}` });
  await router.rebuild({ reps: [], queue: [], assigned: [], queueSeqFloor: 0 });
  return { router, cleanup: () => router.destroy().then(() => undefined) };
}

after(async () => {
  for (const b of buses) await b.close();
  for (const c of clients) c.disconnect();
  shared?.disconnect();
  await cluster?.stop();
});

routerContract('redis cluster', newRouter, { skip });
routerPagesContract('redis cluster', newRouter, { skip });
routerAdmitContract('redis cluster', newRouter, { skip });

async function clusterBus(prefix: string): Promise<RedisBus> {
  const c = (await started()).connect();
  await c.connect();
  clients.push(c);
  const bus = new RedisBus(c, prefix);
  await bus.start();
  buses.push(bus);
  return bus;
}

busContract(
  'redis cluster',
  {
    async pair() {
      const p = `${runPrefix}-bus-${++serial}`;
      return [await clusterBus(p), await clusterBus(p)];
    },
  },
  skip,
);

describe('Redis Cluster: keys', { skip: skip || undefined }, () => {
  before(async () => {
    await client();
  });

  it('puts every routing key in one slot, and no key per rep', async () => {
    const c = await client();
    const { router, cleanup } = await newRouter();
    try {
      await router.setRep(slot(1, 2));
      await router.setRep(slot(2, 2));
      for (let i = 1; i <= 5; i++) await router.enqueueAndDispatch(entry(i));
      await router.requeueRep(slot(1, 2, { status: 'offline' }), [entry(1, { version: 2 }), entry(3, { version: 2 })]);
      const names = (['epoch', 'queue', 'queuedAt', 'entries', 'held', 'versions', 'reps', 'eligible', 'clock', 'repHeld', 'rebuildLock'] as const).map((k) => router.key(k));
      const slots = new Set<number>();
      for (const name of names) slots.add(Number(await c.cluster('KEYSLOT', name)));
      assert.equal(slots.size, 1, 'one hash tag, one slot');
      assert.equal(await c.exists(`${router.key('repHeld')}:1`), 0, 'no per-rep key');
    } finally {
      await cleanup();
    }
  });

  it('delivers between the buses of two cluster clients', async () => {
    const p = `${runPrefix}-bus-nodes`;
    const a = await clusterBus(p);
    const b = await clusterBus(p);
    const heard = recorder(b);
    await a.publish(logout(7));
    await heard.until(1);
    assert.deepEqual(heard.events, [logout(7)]);
  });
});
