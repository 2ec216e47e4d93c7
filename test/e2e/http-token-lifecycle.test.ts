// Refresh-token families under attack: a replay ends the thief's access tokens and sockets, a refresh racing a
// logout never mints a usable token, and a family ends REFRESH_FAMILY_TTL_S after its login (on a moved clock).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config.ts';
import { buildApp, type BuiltApp } from '../../src/app.ts';
import { openPostgres, openSqlite } from '../../src/store/open.ts';
import { MemoryRouter } from '../../src/routing/memory-router.ts';
import { MemoryBus } from '../../src/bus/memory-bus.ts';
import type { Store } from '../../src/store/port.ts';
import { TEST_SECRET } from '../helpers/server.ts';
import { createTempDatabase, requirePostgres } from '../helpers/pg.ts';
import { chatPath, connect, http, login, openConversation, registerCustomer } from '../helpers/client.ts';
import { assertClientError } from '../helpers/http-fixtures.ts';

interface Harness {
  built: BuiltApp;
  base: string;
  wsBase: string;
  stop(): Promise<void>;
}

async function start(opts: { clock?: () => number; wrapStore?: (s: Store) => Store; databaseUrl?: string; env?: Record<string, string> } = {}): Promise<Harness> {
  const dataDir = mkdtempSync(join(tmpdir(), 'sb-tok-'));
  const config = loadConfig({ DATA_DIR: dataDir, JWT_SECRET: TEST_SECRET, RATE_REGISTER_PER_MIN: '100000', RATE_TOKEN_PER_MIN: '100000', ...(opts.env ?? {}) });
  const store: Store = opts.databaseUrl ? await openPostgres({ url: opts.databaseUrl }) : await openSqlite({ file: join(dataDir, 'switchboard.sqlite3') });
  const built = await buildApp({ config, store: opts.wrapStore ? opts.wrapStore(store) : store, router: new MemoryRouter(), bus: new MemoryBus(), jwtSecret: TEST_SECRET, clock: opts.clock });
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

const refresh = (base: string, token: string) => http(base, 'POST', '/auth/token/refresh/', { body: { refresh: token } });
const me = (base: string, token: string) => http(base, 'GET', '/api/me/', { token });

describe('refresh reuse', () => {
  test('a replayed refresh token ends the access tokens and the sockets of the user, not only the family', async () => {
    const h = await start();
    try {
      const cust = await registerCustomer(h.base);
      const rotated = await refresh(h.base, cust.refresh);
      assert.equal(rotated.status, 200);
      // The thief holds the rotated pair and a socket opened with it.
      const conv = await openConversation(h.base, cust);
      const sock = connect(h.wsBase, chatPath(conv), { token: rotated.body.access });
      await sock.opened;
      sock.send({ type: 'ping' });
      await sock.waitFor((f) => f.type === 'pong');
      // The victim's client replays the old token.
      assertClientError(await refresh(h.base, cust.refresh), 401, 'replay');
      assertClientError(await me(h.base, rotated.body.access), 401, "the thief's access token");
      assertClientError(await refresh(h.base, rotated.body.refresh), 401, "the thief's refresh token");
      assert.equal(await sock.waitClose(), 4401, "the thief's socket");
      // Signing in again works.
      assert.equal((await me(h.base, (await login(h.base, cust.username, 'pw-123456')).access)).status, 200);
    } finally {
      await h.stop();
    }
  });
});

/**
 * Runs a logout to completion just before the k-th store call that a refresh makes, for every k: whatever
 * point of the refresh the logout lands on, nothing the refresh returns may work afterwards.
 */
async function raceEveryStep(h: Harness, hook: { before?: () => Promise<void>; counting: boolean; calls: number; at: number }) {
  for (let k = 0; k < 6; k++) {
    const cust = await registerCustomer(h.base);
    hook.calls = 0;
    hook.at = k;
    hook.before = () => h.built.services.accounts.logout(cust.userId);
    hook.counting = true;
    const r = await refresh(h.base, cust.refresh);
    hook.counting = false;
    // A refresh with fewer store calls than k: the logout comes after it.
    if (hook.before) await hook.before();
    hook.before = undefined;
    if (r.status === 200) {
      assertClientError(await me(h.base, r.body.access), 401, `k=${k}: the access token minted around the logout`);
      assertClientError(await refresh(h.base, r.body.refresh), 401, `k=${k}: the refresh token minted around the logout`);
    } else {
      assertClientError(r, 401, `k=${k}`);
    }
  }
}

function interleaving() {
  const hook: { before?: () => Promise<void>; counting: boolean; calls: number; at: number } = { counting: false, calls: 0, at: -1 };
  const wrap = (store: Store) =>
    new Proxy(store, {
      get(target, prop, receiver) {
        const v = Reflect.get(target, prop, receiver);
        if (typeof v !== 'function') return v;
        return async (...args: unknown[]) => {
          if (hook.counting && hook.before && hook.calls++ === hook.at) {
            const run = hook.before;
            hook.before = undefined;
            hook.counting = false;
            await run();
            hook.counting = true;
          }
          return v.apply(target, args);
        };
      },
    }) as Store;
  return { hook, wrap };
}

describe('a refresh racing a logout', () => {
  test('SQLite: a logout at any step of the refresh leaves nothing usable', async () => {
    const { hook, wrap } = interleaving();
    const h = await start({ wrapStore: wrap });
    try {
      await raceEveryStep(h, hook);
    } finally {
      await h.stop();
    }
  });

  test('PostgreSQL: the same, and refreshes and logouts sent at once never leave a usable token', async (t) => {
    const skip = await requirePostgres();
    if (skip) return t.skip(skip);
    const db = await createTempDatabase('sbtok');
    const { hook, wrap } = interleaving();
    const h = await start({ wrapStore: wrap, databaseUrl: db.url });
    try {
      await raceEveryStep(h, hook);
      for (let i = 0; i < 15; i++) {
        const cust = await registerCustomer(h.base);
        const [r] = await Promise.all([refresh(h.base, cust.refresh), http(h.base, 'POST', '/auth/logout/', { token: cust.access })]);
        if (r.status === 200) {
          assertClientError(await me(h.base, r.body.access), 401, `round ${i}: access`);
          assertClientError(await refresh(h.base, r.body.refresh), 401, `round ${i}: refresh`);
        }
      }
    } finally {
      await h.stop();
      await db.drop();
    }
  });
});

describe('token family lifetime', () => {
  test('rotation keeps a family alive only until REFRESH_FAMILY_TTL_S after its login', async () => {
    const DAY = 86_400_000;
    const clock = { now: Date.parse('2026-03-01T00:00:00Z') };
    const h = await start({ clock: () => clock.now });
    try {
      assert.equal(h.built.services.config.refreshFamilyTtlS, 30 * 86_400, 'the default is 30 days');
      const cust = await registerCustomer(h.base);
      let token = cust.refresh;
      // Every 13 days, inside the 14-day refresh lifetime.
      for (const day of [13, 26]) {
        clock.now += 13 * DAY;
        const r = await refresh(h.base, token);
        assert.equal(r.status, 200, `day ${day}: ${JSON.stringify(r.body)}`);
        token = r.body.refresh;
        assert.equal((await me(h.base, r.body.access)).status, 200);
      }
      // The last rotation's token expires with the family (day 30), not 14 days later.
      const exp = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()).exp;
      assert.equal(exp * 1000, Date.parse('2026-03-31T00:00:00Z'));
      clock.now = Date.parse('2026-03-31T00:00:01Z');
      assertClientError(await refresh(h.base, token), 401, 'day 30: the family has ended');
      // A new login starts a new family.
      assert.equal((await refresh(h.base, (await login(h.base, cust.username, 'pw-123456')).refresh)).status, 200);
    } finally {
      await h.stop();
    }
  });
});
