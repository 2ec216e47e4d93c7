// Process entry: config -> store, routing, fan-out -> app -> listen. SIGTERM and SIGINT drain.
import { loadConfig, resolveJwtSecret, ConfigError, LISTEN_BACKLOG, type Config } from './config.ts';
import { buildApp } from './app.ts';
import { openPostgres, openSqlite } from './store/open.ts';
import { lockDataDir, InstanceLockError } from './store/data-dir-lock.ts';
import { holdPostgresSingleton } from './store/pg-singleton.ts';
import { MemoryRouter } from './routing/memory-router.ts';
import { MemoryBus } from './bus/memory-bus.ts';
import { join } from 'node:path';
import { redactUrl } from './app.ts';
import { sharedSetting } from './store/settings.ts';
import type { SqlStore } from './store/sql-store.ts';
import { randomBytes } from 'node:crypto';
import { reportListening } from './report-listening.ts';

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`Configuration error: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }

  const cleanups: Array<() => Promise<void> | void> = [];
  try {
    if (config.redisUrl || config.redisClusterNodes) {
      const { startScaledOut } = await import('./scaled.ts');
      const handle = await startScaledOut(config, loggerOptions(config));
      onSignals(() => handle.drain());
      return;
    }
    let store;
    if (config.databaseUrl) {
      // In-process routing on a shared database would let two processes route independently.
      cleanups.push(await holdPostgresSingleton(config.databaseUrl));
      store = await openPostgres({ url: config.databaseUrl, poolSize: config.databasePoolSize });
    } else {
      cleanups.push(lockDataDir(config.dataDir));
      store = await openSqlite({
        file: join(config.dataDir, 'switchboard.sqlite3'),
        synchronous: config.sqliteSynchronous,
        onCheckpointerFailure: (err) => process.emitWarning(`SQLite checkpoint worker failed, checkpoints now run on the event loop: ${String(err)}`),
      });
    }
    const { app, gateway } = await buildApp({
      config,
      store,
      router: new MemoryRouter(),
      bus: new MemoryBus(),
      jwtSecret:
        config.jwtSecret ??
        (config.databaseUrl ? await sharedSetting((store as SqlStore).db, 'jwt_secret', () => randomBytes(48).toString('base64url')) : resolveJwtSecret(config)),
      logger: loggerOptions(config),
    });
    await app.listen({ port: config.port, host: config.host, backlog: LISTEN_BACKLOG });
    reportListening(app.server.address());
    onSignals(async () => {
      await gateway.drain();
      await app.close();
      await store.close();
      for (const c of cleanups.reverse()) await c();
    });
  } catch (err) {
    for (const c of cleanups.reverse()) await c();
    if (err instanceof InstanceLockError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(3);
    }
    throw err;
  }
}

/**
 * JSON lines in production (for the log collector); readable lines when a person runs `npm start` in a
 * terminal and pino-pretty (a dev dependency) is installed. Each line carries the request id (`reqId`),
 * and a socket's lines also carry its conversation id.
 */
export function loggerOptions(config: Config) {
  return {
    level: config.logLevel,
    ...(!config.production && process.stdout.isTTY && prettyAvailable() ? { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } } } : {}),
    serializers: {
      req: (req: { method: string; url: string; id: string }) => ({ method: req.method, url: redactUrl(req.url), id: req.id }),
    },
  };
}

function prettyAvailable(): boolean {
  try {
    import.meta.resolve('pino-pretty');
    return true;
  } catch {
    return false;
  }
}

export function onSignals(drain: () => Promise<void>): void {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`${signal} received, draining\n`);
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    drain()
      .then(() => process.exit(0))
      .catch(() => process.exit(1));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err) => {
  process.stderr.write(`Failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
