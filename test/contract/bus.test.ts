// The fan-out port on both adapters: every event reaches every listener, in publish order, once.
// Redis only: several instances hear one order, and a subscriber that lost its connection says so
// (onMissed) once it is listening again, so that the gateway can catch up from the store.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { MemoryBus } from '../../src/bus/memory-bus.ts';
import { RedisBus } from '../../src/bus/redis-bus.ts';
import { requireRedis, TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.ts';
import { busContract, logout, recorder } from './bus.contract.ts';
import { startRedis } from '../helpers/processes.ts';
import { eventually } from '../helpers/wait.ts';

const skipRedis = await requireRedis();

busContract(
  'memory',
  {
    async pair() {
      const bus = new MemoryBus();
      return [bus, bus];
    },
  },
  false,
);

const redisClients: Redis[] = [];
const redisBuses: RedisBus[] = [];
const prefix = uniquePrefix('sbtest-bus');

async function redisBus(p = prefix): Promise<RedisBus> {
  // The adapter's own reconnect policy (ioredis' default), as the server uses it.
  const client = new Redis(TEST_REDIS_URL, { lazyConnect: true });
  client.on('error', () => undefined);
  await client.connect();
  redisClients.push(client);
  const bus = new RedisBus(client, p);
  await bus.start();
  redisBuses.push(bus);
  return bus;
}

let serial = 0;
busContract(
  'redis',
  {
    async pair() {
      const p = `${prefix}-${++serial}`;
      return [await redisBus(p), await redisBus(p)];
    },
  },
  skipRedis,
);

describe('RedisBus: a lost subscription', { skip: skipRedis }, () => {
  after(async () => {
    for (const b of redisBuses) await b.close();
    for (const c of redisClients) c.disconnect();
  });

  it('reports the gap once it listens again, and delivers what is published after', async () => {
    const p = `${prefix}-gap`;
    const publisher = await redisBus(p);
    const listener = await redisBus(p);
    const heard = recorder(listener);
    let missed = 0;
    listener.onMissed(() => missed++);
    await publisher.publish(logout(1));
    await heard.until(1);
    assert.equal(missed, 0, 'no gap reported while connected');

    // Kill only this run's subscriber connections (they are named after the prefix).
    const admin = redisClients[0];
    const list = (await admin.call('CLIENT', 'LIST', 'TYPE', 'pubsub')) as string;
    const ids = list
      .split('\n')
      .filter((l) => l.includes(` name=${p}:subscriber `))
      .map((l) => /\bid=(\d+)/.exec(l)![1]);
    assert.equal(ids.length, 2, 'both subscribers carry the prefix in their name');
    for (const id of ids) await admin.client('KILL', 'ID', id);

    await eventually(() => missed > 0, { what: 'the gap reported' });
    // The marker: an event published after the report is heard, so the listener is live again; a second
    // report of the same reconnect would have come before it.
    await publisher.publish(logout(2));
    await heard.until(2);
    assert.equal(missed, 1, 'the gap is reported once, once the channel is live again');
    assert.deepEqual(
      heard.events.map((e) => (e as { userId: number }).userId),
      [1, 2],
    );
  });

  it('reports the gap after the Redis server itself restarts (a throwaway server)', async () => {
    const own = await startRedis();
    const publisherClient = new Redis(own.url, { lazyConnect: true });
    const listenerClient = new Redis(own.url, { lazyConnect: true });
    for (const c of [publisherClient, listenerClient]) {
      c.on('error', () => undefined);
      await c.connect();
    }
    const publisher = new RedisBus(publisherClient, 'restart');
    const listener = new RedisBus(listenerClient, 'restart');
    try {
      await publisher.start();
      await listener.start();
      const heard = recorder(listener);
      let missed = 0;
      listener.onMissed(() => missed++);
      await publisher.publish(logout(1));
      await heard.until(1);
      // Killed and started again on the same port (the clients reconnect to it), empty.
      await own.restart();
      await eventually(() => missed > 0, { timeoutMs: 15_000, what: 'the gap reported' });
      await publisher.publish(logout(2));
      await heard.until(2);
      assert.equal(missed, 1, 'the gap is reported once, once the channel is live again');
    } finally {
      await publisher.close();
      await listener.close();
      publisherClient.disconnect();
      listenerClient.disconnect();
      await own.stop();
    }
  });

  it('reports nothing when it is closed on purpose', async () => {
    const bus = await redisBus(`${prefix}-quiet`);
    let missed = 0;
    bus.onMissed(() => missed++);
    await bus.close();
    // Its subscriber connection is gone for good (closed with QUIT, it never reconnects), so no report can follow.
    const admin = redisClients[0];
    await eventually(async () => !((await admin.call('CLIENT', 'LIST')) as string).includes(` name=${prefix}-quiet:subscriber `), { what: 'the subscriber gone' });
    assert.equal(missed, 0);
  });
});
