// The presence refresh restamps every member an instance holds in chunked ZADD GT commands: every member gets the
// new time, a later time another instance wrote is kept, and the command count grows per chunk, not per member.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { REFRESH_CHUNK, restamp } from '../../src/realtime/redis-presence.ts';
import { requireRedis, TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.ts';

const skip = await requireRedis();
const redis = skip ? undefined : new Redis(TEST_REDIS_URL);

after(() => redis?.disconnect());

describe('presence refresh (Redis)', { skip: skip || false }, () => {
  it('restamps every member, in one command per chunk, and never moves a later time back', async () => {
    const key = `${uniquePrefix('sbtest-restamp')}:{sb}:presence:conv`;
    const members = Array.from({ length: REFRESH_CHUNK * 2 + 1 }, (_, i) => `conv-${i}`);
    await redis!.zadd(key, 100, 'conv-0', 5000, 'conv-1');
    const pipe = redis!.pipeline();
    assert.equal(restamp(pipe, key, 1000, members), 3);
    assert.equal(restamp(pipe, key, 1000, []), 0);
    await pipe.exec();
    const scores = await redis!.zrange(key, 0, -1, 'WITHSCORES');
    const byMember = new Map<string, number>();
    for (let i = 0; i < scores.length; i += 2) byMember.set(scores[i], Number(scores[i + 1]));
    assert.equal(byMember.size, members.length);
    assert.equal(byMember.get('conv-0'), 1000, 'an older time is moved forward');
    assert.equal(byMember.get('conv-1'), 5000, 'a later time from another instance is kept');
    for (const m of members.slice(2)) assert.equal(byMember.get(m), 1000, m);
    await redis!.del(key);
  });
});
