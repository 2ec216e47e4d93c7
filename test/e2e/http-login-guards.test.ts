// Login guards over a real server: the per-username failure limit with backoff (in memory and shared through
// Redis, on a clock the test moves), and the bound on password hashing under a login flood.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config.ts';
import { buildApp, type BuiltApp } from '../../src/app.ts';
import { openSqlite } from '../../src/store/open.ts';
import { MemoryRouter } from '../../src/routing/memory-router.ts';
import { MemoryBus } from '../../src/bus/memory-bus.ts';
import { RedisLoginThrottle } from '../../src/auth/redis-login-throttle.ts';
import { TEST_SECRET } from '../helpers/server.ts';
import { connectRedis, requireRedis, uniquePrefix } from '../helpers/redis.ts';
import { http, openChat, registerCustomer, registerRep, uniqueName } from '../helpers/client.ts';
import { assertClientError } from '../helpers/http-fixtures.ts';

interface Harness {
  built: BuiltApp;
  base: string;
  wsBase: string;
  stop(): Promise<void>;
}

async function start(env: Record<string, string>, deps: { clock?: () => number; redis?: ReturnType<typeof connectRedis> } = {}): Promise<Harness> {
  const dataDir = mkdtempSync(join(tmpdir(), 'sb-login-'));
  const config = loadConfig({ DATA_DIR: dataDir, JWT_SECRET: TEST_SECRET, RATE_REGISTER_PER_MIN: '100000', RATE_TOKEN_PER_MIN: '100000', ...env });
  const store = await openSqlite({ file: join(dataDir, 'switchboard.sqlite3') });
  const built = await buildApp({
    config,
    store,
    router: new MemoryRouter(),
    bus: new MemoryBus(),
    jwtSecret: TEST_SECRET,
    clock: deps.clock,
    loginThrottle: deps.redis ? new RedisLoginThrottle(deps.redis, config.redisPrefix, config.loginWindowS * 1000) : undefined,
  });
  await built.app.listen({ port: 0, host: '127.0.0.1' });
  const address = built.app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    built,
    base: `http://127.0.0.1:${port}`,
    wsBase: `ws://127.0.0.1:${port}`,
    async stop() {
      built.gateway.stop(1001);
      await built.app.close();
      await store.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

const MIN = 60_000;

/** The same scenario for both throttles: the clock is the test's, never a real wait. */
async function lockoutScenario(h: Harness, clock: { now: number }): Promise<void> {
  const acct = await registerCustomer(h.base);
  const login = (username: string, password: string) => http(h.base, 'POST', '/auth/token/', { body: { username, password } });

  // Half the budget (5) goes with no wait; from then on each failure asks for twice the wait before the next try.
  for (let i = 0; i < 5; i++) assertClientError(await login(acct.username, `wrong-${i}`), 401, `failure ${i + 1}`);
  const first = await login(acct.username, 'pw-123456');
  assertClientError(first, 429, 'backoff after 5 failures, even for the right password');
  assert.equal(first.headers.get('retry-after'), '1');
  clock.now += 1000;
  assertClientError(await login(acct.username, 'wrong-5'), 401, 'failure 6, once the wait has passed');
  const second = await login(acct.username, 'wrong-x');
  assertClientError(second, 429, 'backoff after 6 failures');
  assert.equal(second.headers.get('retry-after'), '2', 'the wait doubles');
  clock.now += 2000;
  assertClientError(await login(acct.username, 'wrong-6'), 401, 'failure 7');

  // Spend the rest of the budget (10 in all), stepping over each wait.
  for (let i = 7; i < 10; i++) {
    clock.now += MIN;
    assertClientError(await login(acct.username, `wrong-${i}`), 401, `failure ${i + 1}`);
  }
  clock.now += MIN;
  const locked = await login(acct.username, 'pw-123456');
  assertClientError(locked, 429, 'locked: the right password is refused too');
  const retry = Number(locked.headers.get('retry-after'));
  assert.ok(retry > 0 && retry <= 15 * 60, `Retry-After ${retry} stays within the window`);
  // Another spelling of the name is the same name (NFKC + case folding, as at login).
  assertClientError(await login(acct.username.toUpperCase(), 'pw-123456'), 429, 'upper case');
  // Another user is not affected.
  const other = await registerCustomer(h.base);
  assert.equal((await login(other.username, 'pw-123456')).status, 200);

  // After the window the victim gets back in, and a success clears the count.
  clock.now += retry * 1000;
  assert.equal((await login(acct.username, 'pw-123456')).status, 200, 'the right password works once the window has passed');
  for (let i = 0; i < 5; i++) assertClientError(await login(acct.username, `again-${i}`), 401, `fresh budget ${i + 1}`);
}

describe('per-username login limit', () => {
  test('in memory: backoff, then a lock that ends with the window', async () => {
    const clock = { now: Date.parse('2026-01-01T00:00:00Z') };
    const h = await start({}, { clock: () => clock.now });
    try {
      await lockoutScenario(h, clock);
    } finally {
      await h.stop();
    }
  });

  describe('shared through Redis', () => {
    let skip: string | false = false;
    const redis = connectRedis();
    const prefix = uniquePrefix('sblogin');
    before(async () => {
      skip = await requireRedis();
      if (!skip) await redis.connect();
    });
    after(async () => {
      if (!skip) {
        const keys = await redis.keys(`${prefix}:*`);
        if (keys.length) await redis.del(...keys);
      }
      redis.disconnect();
    });

    test('the same rules, and a second instance sees the first one\'s failures', async (t) => {
      if (skip) return t.skip(skip);
      const clock = { now: Date.parse('2026-01-01T00:00:00Z') };
      const h = await start({ REDIS_PREFIX: prefix }, { clock: () => clock.now, redis });
      try {
        await lockoutScenario(h, clock);
        // Two instances on one Redis: failures on one lock the name on the other.
        const acct = await registerCustomer(h.base);
        const h2 = await start({ REDIS_PREFIX: prefix }, { clock: () => clock.now, redis });
        try {
          for (let i = 0; i < 10; i++) {
            clock.now += MIN;
            assertClientError(await http(h.base, 'POST', '/auth/token/', { body: { username: acct.username, password: 'nope' } }), 401);
          }
          assertClientError(await http(h2.base, 'POST', '/auth/token/', { body: { username: acct.username, password: 'nope' } }), 429, 'the other instance');
        } finally {
          await h2.stop();
        }
      } finally {
        await h.stop();
      }
    });
  });
});

describe('bounded password hashing', () => {
  test('a login flood gets 503 + Retry-After past the queue, while /healthz and a chat keep answering', async () => {
    const h = await start({ HASH_CONCURRENCY: '1', HASH_QUEUE: '2', LOGIN_MAX_FAILURES: '0' });
    try {
      const rep = await registerRep(h.base, 2);
      const chat = await openChat({ url: h.base, wsUrl: h.wsBase }, rep);
      const victim = await registerCustomer(h.base);

      const flood = Array.from({ length: 60 }, () => http(h.base, 'POST', '/auth/token/', { body: { username: victim.username, password: 'pw-123456' } }));
      // While the flood is in flight: liveness and a chat message round trip.
      const health = await http(h.base, 'GET', '/healthz');
      assert.equal(health.status, 200);
      const text = uniqueName('during-flood');
      chat.c.send({ message: text });
      const got = await chat.r.waitFor((f) => f.type === 'message' && f.message === text);
      assert.equal(got.user, chat.cust.username);

      const results = await Promise.all(flood);
      const busy = results.filter((r) => r.status === 503);
      assert.ok(busy.length > 0, `some logins were turned away: ${results.map((r) => r.status).join(',')}`);
      for (const r of busy) {
        assert.equal(r.body.code, 'unavailable', JSON.stringify(r.body));
        assert.equal(typeof r.body.detail, 'string');
        assert.equal(r.headers.get('retry-after'), '1');
      }
      for (const r of results) assert.ok(r.status === 200 || r.status === 503, String(r.status));
      assert.ok(results.some((r) => r.status === 200), 'the queue still served some');
      // Once the flood is over, logins work again.
      assert.equal((await http(h.base, 'POST', '/auth/token/', { body: { username: victim.username, password: 'pw-123456' } })).status, 200);
      chat.c.ws.close();
      chat.r.ws.close();
    } finally {
      await h.stop();
    }
  });
});
