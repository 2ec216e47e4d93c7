// Starts a real Switchboard app on a free port (embedded SQLite by default), for end-to-end tests.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type Config } from '../../src/config.ts';
import { buildApp, type BuiltApp } from '../../src/app.ts';
import { openPostgres, openSqlite } from '../../src/store/open.ts';
import { MemoryRouter } from '../../src/routing/memory-router.ts';
import { MemoryBus } from '../../src/bus/memory-bus.ts';
import type { Store } from '../../src/store/port.ts';
import { withTimeout } from './wait.ts';

export interface TestServer extends BuiltApp {
  url: string;
  wsUrl: string;
  port: number;
  store: Store;
  config: Config;
  dataDir: string;
  /** Stops the app; keeps the data unless `wipe` is true. */
  stop(opts?: { wipe?: boolean }): Promise<void>;
}

export interface StartOptions {
  env?: Record<string, string>;
  dataDir?: string;
  databaseUrl?: string;
  port?: number;
}

export const STOP_TIMEOUT_MS = 20_000;

export const TEST_SECRET = 'test-secret-that-is-long-enough-for-hs256-signing';

export async function startServer(opts: StartOptions = {}): Promise<TestServer> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'sb-test-'));
  const config = loadConfig({
    DATA_DIR: dataDir,
    JWT_SECRET: TEST_SECRET,
    RATE_REGISTER_PER_MIN: '100000',
    RATE_TOKEN_PER_MIN: '100000',
    ...(opts.env ?? {}),
  });
  const store = opts.databaseUrl ? await openPostgres({ url: opts.databaseUrl }) : await openSqlite({ file: join(dataDir, 'switchboard.sqlite3') });
  const built = await buildApp({ config, store, router: new MemoryRouter(), bus: new MemoryBus(), jwtSecret: config.jwtSecret ?? TEST_SECRET });
  await built.app.listen({ port: opts.port ?? 0, host: '127.0.0.1' });
  const address = built.app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    ...built,
    url: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}`,
    port,
    store,
    config,
    dataDir,
    async stop({ wipe = false } = {}) {
      // Bounded: a stop that hangs (a socket that never closes) fails the suite instead of stalling it.
      await withTimeout(
        (async () => {
          built.gateway.stop(1001);
          await built.app.close();
          await store.close();
        })(),
        STOP_TIMEOUT_MS,
        'stopping the test server',
      );
      if (wipe) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
