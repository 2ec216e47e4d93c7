// Instances watching each other through Redis stamps: one that stops beating without draining is reported
// once, to one instance; one that drains is never reported.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { PeerWatch } from '../../src/bus/peer-watch.ts';
import { requireRedis, TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.ts';
import { eventually } from '../helpers/wait.ts';

const skip = await requireRedis();
const clients: Redis[] = [];
const watches: PeerWatch[] = [];

after(async () => {
  for (const w of watches) await w.stop();
  for (const c of clients) c.disconnect();
});

const BEAT_MS = 20;
const GONE_MS = 150;

describe('peer watch (Redis)', { skip: skip || false }, () => {
  const key = `${uniquePrefix('sbtest-peers')}:{sb}:instances`;
  const reports: Array<{ by: string; ids: string[] }> = [];

  const watch = async (id: string) => {
    const redis = new Redis(TEST_REDIS_URL);
    clients.push(redis);
    const w = new PeerWatch(redis, key, id, { onGone: (ids) => reports.push({ by: id, ids }), onError: (err) => assert.fail(String(err)), beatMs: BEAT_MS, goneMs: GONE_MS });
    watches.push(w);
    await w.start();
    return w;
  };

  /** A killed instance: its timer is gone, its stamp stays. */
  const kill = (w: PeerWatch) => clearInterval((w as unknown as { timer: NodeJS.Timeout }).timer);

  it('reports an instance that stopped beating once, to one of the others; never one that drained', async () => {
    await watch('a');
    await watch('b');
    const c = await watch('c');
    const d = await watch('d');
    await d.stop();
    kill(c);
    await eventually(() => reports.length > 0, { timeoutMs: 5000, what: 'the dead instance reported' });
    // Well past a second report's chance: many beats of a and b.
    await new Promise((resolve) => setTimeout(resolve, GONE_MS * 3));
    assert.deepEqual(reports.map((r) => r.ids), [['c']]);
    assert.ok(['a', 'b'].includes(reports[0].by));
    const stamped = await clients[0].zrange(key, 0, -1);
    assert.deepEqual(stamped.sort(), ['a', 'b']);
  });

  it('reports an unreachable Redis once, not at every beat', async () => {
    const down = new Redis({ port: 1, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
    down.on('error', () => undefined);
    clients.push(down);
    const errors: unknown[] = [];
    const w = new PeerWatch(down, key, 'lonely', { onGone: () => assert.fail('nothing to report'), onError: (err) => errors.push(err), beatMs: BEAT_MS, goneMs: GONE_MS });
    await w.start();
    await new Promise((resolve) => setTimeout(resolve, BEAT_MS * 10));
    clearInterval((w as unknown as { timer: NodeJS.Timeout }).timer);
    assert.equal(errors.length, 1);
  });
});
