// Real processes for multi-instance and process-shell tests: Switchboard instances and throwaway redis-servers.
// Every child binds its own port (PORT=0 for Switchboard, which reports the port it got over IPC; a retry
// on a taken port for redis-server, which cannot report one), so no port is probed and then handed on.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { fileURLToPath } from 'node:url';
import { eventually } from './wait.ts';
import { skipOrFail } from './env.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * A port that was free a moment ago. Only for a child that cannot bind port 0 itself, and then only with a
 * retry (see startRedis): another process may take it in between.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

export interface Child {
  proc: ChildProcess;
  /** Everything the child wrote to stdout and stderr, in order. */
  output: string[];
  exited: Promise<number | null>;
}

/** The one way tests start a child process: output captured, exit observed, optional IPC channel. */
export function spawnChild(command: string, args: string[], opts: { env?: NodeJS.ProcessEnv; ipc?: boolean; cwd?: string } = {}): Child {
  const proc = spawn(command, args, {
    cwd: opts.cwd ?? ROOT,
    env: opts.env ?? process.env,
    stdio: opts.ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  proc.stdout!.on('data', (d) => output.push(d.toString()));
  proc.stderr!.on('data', (d) => output.push(d.toString()));
  const exited = new Promise<number | null>((resolve) => {
    proc.once('exit', (code) => resolve(code));
    proc.once('error', (err) => {
      output.push(`spawn failed: ${err.message}`);
      resolve(null);
    });
  });
  return { proc, output, exited };
}

/** Kills a child (SIGKILL by default) and waits for it, if it still runs. */
export async function killChild(child: Child, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (child.proc.exitCode !== null || child.proc.signalCode !== null) return;
  child.proc.kill(signal);
  await child.exited;
}

const switchboardArgs = ['--import', 'tsx', 'src/main.ts'];

export interface RunResult {
  /** The exit code, or null when the process was killed (by a signal, or at the timeout). */
  code: number | null;
  timedOut: boolean;
  stderr: string;
  output: string;
}

/** Runs Switchboard until it exits by itself (a refused start), killing it after `timeoutMs`. */
export async function runToExit(env: Record<string, string>, timeoutMs = 30_000): Promise<RunResult> {
  const child = spawnChild(process.execPath, switchboardArgs, { env: { ...process.env, ...env } });
  const stderr: string[] = [];
  child.proc.stderr!.on('data', (d) => stderr.push(d.toString()));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.proc.kill('SIGKILL');
  }, timeoutMs);
  const code = await child.exited;
  clearTimeout(timer);
  return { code: timedOut ? null : code, timedOut, stderr: stderr.join(''), output: child.output.join('') };
}

export interface ThrowawayRedis {
  url: string;
  port: number;
  client: Redis;
  /** The redis-server process (a fault test may kill it and call `restart()`). */
  child: Child;
  /** Starts redis-server again on the same port, empty (after a kill). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** Whether a `redis-server` binary can be started; the scaled suites skip (or fail under CI) without one. */
export async function requireRedisServer(): Promise<string | false> {
  const probe = spawnChild('redis-server', ['--version']);
  const code = await probe.exited;
  if (code === 0) return false;
  return skipOrFail(`redis-server cannot be started (${probe.output.join('').trim() || `exit ${code}`})`, 'tests that need their own redis-server');
}

function spawnRedis(port: number, dir: string): Child {
  return spawnChild('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir]);
}

/** Waits until a redis-server on `port` answers, or its process exits (a taken port): true when it answers. */
async function redisAnswers(child: Child, client: Redis): Promise<boolean> {
  const outcome = await eventually(
    async () => {
      if (child.proc.exitCode !== null || child.proc.signalCode !== null) return 'exited';
      // Only a client that is not already reconnecting by itself: a connect() during its retry wait opens a
      // second connection, whose own retries outlive disconnect() and keep the test process alive.
      if (client.status === 'wait' || client.status === 'end') await client.connect().catch(() => undefined);
      return (await client.ping()) === 'PONG' && 'ready';
    },
    { timeoutMs: 10_000, intervalMs: 50, what: 'redis-server answering PING' },
  );
  return outcome === 'ready';
}

/** A private redis-server that fault tests may flush, kill or restart without touching the shared one. */
export async function startRedis(): Promise<ThrowawayRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'sb-redis-'));
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    let child = spawnRedis(port, dir);
    const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 1 });
    client.on('error', () => undefined);
    if (!(await redisAnswers(child, client))) {
      client.disconnect();
      // Another process took the port between the probe and the bind: try another one.
      if (attempt < 5 && /address already in use/i.test(child.output.join(''))) continue;
      throw new Error(`redis-server could not start on ${port}: ${child.output.join('').slice(-500)}`);
    }
    return {
      url: `redis://127.0.0.1:${port}`,
      port,
      client,
      get child() {
        return child;
      },
      async restart() {
        await killChild(child);
        child = spawnRedis(port, dir);
        if (!(await redisAnswers(child, client))) throw new Error(`redis-server did not come back on ${port}: ${child.output.join('').slice(-500)}`);
      },
      async stop() {
        client.disconnect();
        await killChild(child);
      },
    };
  }
}

export interface Instance {
  port: number;
  url: string;
  wsUrl: string;
  proc: ChildProcess;
  output: string[];
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): void;
}

/** A Switchboard process on a port it binds itself (PORT=0); resolves once it listens and /healthz answers. */
export async function startInstance(env: Record<string, string>, timeoutMs = 60_000): Promise<Instance> {
  const child = spawnChild(process.execPath, switchboardArgs, {
    ipc: true,
    env: { ...process.env, LOG_LEVEL: 'warn', DATA_DIR: mkdtempSync(join(tmpdir(), 'sb-inst-')), ...env, PORT: '0', HOST: '127.0.0.1' },
  });
  const { proc, output, exited } = child;
  const listening = new Promise<number>((resolve) => {
    proc.on('message', (m: { type?: string; port?: number }) => {
      if (m?.type === 'listening' && typeof m.port === 'number') resolve(m.port);
    });
  });
  let timer: NodeJS.Timeout | undefined;
  const port = await Promise.race([
    listening,
    exited.then((code) => {
      throw new Error(`instance exited with ${code}: ${output.join('')}`);
    }),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        proc.kill('SIGKILL');
        reject(new Error(`instance did not listen within ${timeoutMs} ms: ${output.join('')}`));
      }, timeoutMs);
    }),
  ]).finally(() => clearTimeout(timer));
  const url = `http://127.0.0.1:${port}`;
  await eventually(async () => (await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2000) })).ok, { timeoutMs: 10_000, intervalMs: 50, what: `instance on ${port} /healthz` });
  return { port, url, wsUrl: `ws://127.0.0.1:${port}`, proc, output, exited, kill: (signal = 'SIGTERM') => proc.kill(signal) };
}

/**
 * Prints what each instance said (warnings and errors, its last 25 lines) when `failed`, under SCALED_DEBUG, or
 * when it exited with an error: a failure seen once in CI can be understood without a rerun.
 */
export function printInstanceTails(instances: Instance[], failed: boolean): void {
  for (const i of instances) {
    const tail = i.output.join('').split('\n').filter((l) => l.trim() && !l.includes('"level":30')).slice(-25).join('\n');
    if (failed || process.env.SCALED_DEBUG || (i.proc.exitCode !== null && i.proc.exitCode !== 0)) {
      console.error(`instance ${i.port} exit=${i.proc.exitCode} signal=${i.proc.signalCode}:\n${tail}`);
    }
  }
}
