// Hardened operations and account edges: /readyz hides driver errors, /metrics needs its token in production and
// does not list every rep per scrape, and each credential route counts in its own Redis rate-limit key.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { buildApp, type BuiltApp } from '../../src/app.ts';
import { openSqlite } from '../../src/store/open.ts';
import { MemoryRouter } from '../../src/routing/memory-router.ts';
import { MemoryBus } from '../../src/bus/memory-bus.ts';
import type { SqlStore } from '../../src/store/sql-store.ts';
import type { Store } from '../../src/store/port.ts';
import { TEST_SECRET } from '../helpers/server.ts';
import { connectRedis, requireRedis, uniquePrefix } from '../helpers/redis.ts';
import { http, registerRep, uniqueName } from '../helpers/client.ts';
import { registerCustomerRaw } from '../helpers/http-fixtures.ts';

interface Harness {
  built: BuiltApp;
  base: string;
  store: SqlStore;
  logLines: string[];
  stop(): Promise<void>;
}

/** A real app on SQLite and a free port, with deps this file needs to choose (readiness checks, a Redis limiter store). */
async function start(env: Record<string, string>, deps: { readiness?: Record<string, () => Promise<void>>; rateLimitRedis?: ReturnType<typeof connectRedis>; wrapStore?: (s: SqlStore) => Store } = {}): Promise<Harness> {
  const dataDir = mkdtempSync(join(tmpdir(), 'sb-ops-'));
  const config = loadConfig({ DATA_DIR: dataDir, JWT_SECRET: TEST_SECRET, RATE_REGISTER_PER_MIN: '100000', RATE_TOKEN_PER_MIN: '100000', ...env });
  const store = await openSqlite({ file: join(dataDir, 'switchboard.sqlite3') });
  const logLines: string[] = [];
  const built = await buildApp({
    config,
    store: deps.wrapStore ? deps.wrapStore(store) : store,
    router: new MemoryRouter(),
    bus: new MemoryBus(),
    jwtSecret: TEST_SECRET,
    logger: { level: 'warn', stream: { write: (line: string) => void logLines.push(line) } },
    readiness: deps.readiness,
    rateLimitRedis: deps.rateLimitRedis,
  });
  await built.app.listen({ port: 0, host: '127.0.0.1' });
  const address = built.app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    built,
    base: `http://127.0.0.1:${port}`,
    store,
    logLines,
    async stop() {
      await built.app.close();
      await store.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

describe('/readyz does not echo driver errors', () => {
  test('a failing check answers "error"; the driver message goes to the log only', async () => {
    const secretish = 'connect ECONNREFUSED 10.20.30.40:6379 (redis-internal.example)';
    const h = await start({}, { readiness: { redis: async () => Promise.reject(new Error(secretish)) } });
    try {
      const r = await http(h.base, 'GET', '/readyz');
      assert.equal(r.status, 503);
      assert.deepEqual(r.body.checks, { store: 'ok', redis: 'error' });
      assert.ok(!JSON.stringify(r.body).includes('10.20.30.40'), JSON.stringify(r.body));
      assert.ok(h.logLines.some((l) => l.includes('10.20.30.40') && l.includes('readiness check failed')), h.logLines.join('\n'));
    } finally {
      await h.stop();
    }
  });
});

describe('/metrics', () => {
  test('METRICS_TOKEN is required when NODE_ENV=production, and only then', () => {
    assert.throws(
      () => loadConfig({ NODE_ENV: 'production', JWT_SECRET: TEST_SECRET }),
      (e: unknown) => e instanceof ConfigError && e.variable === 'METRICS_TOKEN',
    );
    assert.equal(loadConfig({ NODE_ENV: 'production', JWT_SECRET: TEST_SECRET, METRICS_TOKEN: 'scrape-me' }).metricsToken, 'scrape-me');
    assert.equal(loadConfig({}).metricsToken, undefined, 'open outside production, as before');
  });

  test('with a token: 401 without it, with a wrong one or a prefix of it; 200 with it', async () => {
    const token = 'metrics-token-0123456789abcdef';
    const h = await start({ NODE_ENV: 'production', METRICS_TOKEN: token });
    try {
      for (const auth of [undefined, 'Bearer wrong', `Bearer ${token.slice(0, -1)}`, `Bearer ${token}x`, token]) {
        const r = await http(h.base, 'GET', '/metrics', { headers: auth ? { authorization: auth } : {} });
        assert.equal(r.status, 401, String(auth));
      }
      const ok = await http(h.base, 'GET', '/metrics', { headers: { authorization: `Bearer ${token}` } });
      assert.equal(ok.status, 200);
      assert.match(String(ok.body), /switchboard_reps_online/);
    } finally {
      await h.stop();
    }
  });

  test('a scrape does not list every rep; the online count is still right', async () => {
    let listReps = 0;
    const h = await start({}, {
      wrapStore: (store) =>
        new Proxy(store, {
          get(target, prop, receiver) {
            if (prop === 'listReps') listReps++;
            const v = Reflect.get(target, prop, receiver);
            return typeof v === 'function' ? v.bind(target) : v;
          },
        }) as Store,
    });
    try {
      await registerRep(h.base, 2);
      await registerRep(h.base, 2);
      const before = listReps;
      let text = '';
      for (let i = 0; i < 5; i++) {
        const r = await http(h.base, 'GET', '/metrics');
        assert.equal(r.status, 200);
        text = String(r.body);
      }
      assert.equal(listReps - before, 0, 'no listReps() per scrape');
      assert.match(text, /^switchboard_reps_online 2$/m);
    } finally {
      await h.stop();
    }
  });
});

describe('rate limits in Redis: one key per kind of route', () => {
  let skip: string | false = false;
  const redis = connectRedis();
  const prefix = uniquePrefix('sbrl');
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

  test('spending the registration budget leaves login and refresh alone, as in memory', async (t) => {
    if (skip) return t.skip(skip);
    const h = await start({ REDIS_PREFIX: prefix, RATE_REGISTER_PER_MIN: '3', RATE_TOKEN_PER_MIN: '5' }, { rateLimitRedis: redis });
    try {
      const username = uniqueName('rl');
      assert.equal((await registerCustomerRaw(h.base, username)).status, 201);
      for (let i = 0; i < 2; i++) assert.equal((await registerCustomerRaw(h.base, uniqueName('rl'))).status, 201);
      const over = await registerCustomerRaw(h.base, uniqueName('rl'));
      assert.equal(over.status, 429, 'the fourth registration is over the budget of 3');
      assert.ok(over.headers.get('retry-after'));
      const login = await http(h.base, 'POST', '/auth/token/', { body: { username, password: 'pw-123456' } });
      assert.equal(login.status, 200, `login has its own budget: ${JSON.stringify(login.body)}`);
      const refresh = await http(h.base, 'POST', '/auth/token/refresh/', { body: { refresh: login.body.refresh } });
      assert.equal(refresh.status, 200, `refresh has its own budget: ${JSON.stringify(refresh.body)}`);
      const keys = (await redis.keys(`${prefix}:*ratelimit*`)).sort();
      assert.equal(keys.length, 3, keys.join(', '));
      for (const kind of ['register', 'credentials', 'refresh']) assert.ok(keys.some((k) => k.includes(`${kind}|`)), `${kind} in ${keys.join(', ')}`);
    } finally {
      await h.stop();
    }
  });
});
