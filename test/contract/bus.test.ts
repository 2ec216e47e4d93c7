// The fan-out port on both adapters: every event reaches every listener, in publish order, once.
// Redis only: several instances hear one order, and a subscriber that lost its connection says so
// (onMissed) once it is listening again, so that the gateway can catch up from the store.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import type { Bus, BusEvent } from '../../src/bus/port.ts';
import { MemoryBus } from '../../src/bus/memory-bus.ts';
import { RedisBus } from '../../src/bus/redis-bus.ts';
import { requireRedis, TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.ts';
import { startRedis } from '../helpers/processes.ts';
import { spawn } from 'node:child_process';

const skipRedis = await requireRedis();

function recorder(bus: Bus): { events: BusEvent[]; until: (n: number) => Promise<void> } {
  const events: BusEvent[] = [];
  let wake: (() => void) | undefined;
  bus.subscribe((e) => {
    events.push(e);
    wake?.();
  });
  return {
    events,
    async until(n: number) {
      const deadline = Date.now() + 5000;
      while (events.length < n) {
        if (Date.now() > deadline) throw new Error(`only ${events.length} of ${n} events arrived`);
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 50);
        });
      }
    },
  };
}

const logout = (userId: number): BusEvent => ({ kind: 'logout', userId });

interface Harness {
  /** Two handles on one fan-out (two instances, or one process twice). */
  pair(): Promise<[Bus, Bus]>;
}

function busContract(name: string, harness: Harness, skip: string | false) {
  describe(`Bus contract: ${name}`, { skip }, () => {
    it('delivers every event to every listener, in publish order, once', async () => {
      const [a, b] = await harness.pair();
      const onA = recorder(a);
      const onB = recorder(b);
      for (let i = 1; i <= 200; i++) void (i % 2 ? a : b).publish(logout(i));
      await onA.until(200);
      await onB.until(200);
      const ids = (r: { events: BusEvent[] }) => r.events.map((e) => (e as { userId: number }).userId);
      assert.deepEqual(ids(onA), ids(onB), 'both hear one order');
      assert.deepEqual([...ids(onA)].sort((x, y) => x - y), Array.from({ length: 200 }, (_, i) => i + 1), 'each once');
      const fromA = ids(onA).filter((n) => n % 2);
      assert.deepEqual(fromA, [...fromA].sort((x, y) => x - y), 'one publisher in its own order');
    });

    it('stops delivering to a listener that unsubscribed', async () => {
      const [a, b] = await harness.pair();
      const kept = recorder(b);
      const dropped: BusEvent[] = [];
      const off = b.subscribe((e) => dropped.push(e));
      await a.publish(logout(1));
      await kept.until(1);
      off();
      await a.publish(logout(2));
      await kept.until(2);
      assert.equal(dropped.length, 1);
    });
  });
}

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

    const deadline = Date.now() + 5000;
    while (missed === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(missed, 1, 'the gap is reported once, once the channel is live again');
    await publisher.publish(logout(2));
    await heard.until(2);
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
    let second: ReturnType<typeof spawn> | undefined;
    try {
      await publisher.start();
      await listener.start();
      const heard = recorder(listener);
      let missed = 0;
      listener.onMissed(() => missed++);
      await publisher.publish(logout(1));
      await heard.until(1);
      await own.stop();
      // The same port again (the clients reconnect to it); a start that loses a race for the port is retried.
      const deadline = Date.now() + 15_000;
      while (missed === 0 && Date.now() < deadline) {
        if (!second || second.exitCode !== null) {
          second = spawn('redis-server', ['--port', String(own.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
          second.on('error', () => undefined);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(missed, 1, 'the gap is reported once, once the channel is live again');
      await publisher.publish(logout(2));
      await heard.until(2);
    } finally {
      await publisher.close();
      await listener.close();
      publisherClient.disconnect();
      listenerClient.disconnect();
      second?.kill('SIGKILL');
    }
  });

  it('reports nothing when it is closed on purpose', async () => {
    const bus = await redisBus(`${prefix}-quiet`);
    let missed = 0;
    bus.onMissed(() => missed++);
    await bus.close();
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(missed, 0);
  });
});
