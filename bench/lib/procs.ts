// Benchmarked processes: the real server (src/main.ts, unmodified) and the bare `ws` baselines, each with the
// probe preloaded so the bench can ask for memory, CPU time and event-loop delay over IPC.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../test/helpers/processes.ts';
import type { ProbeReply } from './probe.ts';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const BENCH_SECRET = 'bench-secret-that-is-long-enough-for-hs256-signing';

const children = new Set<ChildProcess>();

/** Kills every child process a bench started and has not stopped (after a failure or a timeout). */
export function killChildren(): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  children.clear();
}
process.once('exit', killChildren);

/** Tracks a child process so that a failed or timed-out bench never leaves it running. */
export function track(proc: ChildProcess): ChildProcess {
  children.add(proc);
  proc.once('exit', () => children.delete(proc));
  return proc;
}

export interface Probed {
  pid: number;
  port: number;
  url: string;
  wsUrl: string;
  proc: ChildProcess;
  output: string[];
  /** Memory, CPU and event-loop delay; `gc` first runs a full collection, `reset` restarts the delay histogram. */
  probe(kind?: 'plain' | 'gc' | 'reset'): Promise<ProbeReply>;
  stop(): Promise<void>;
}

function startProbed(script: string, env: Record<string, string>, extraArgs: string[] = []): Promise<Probed> {
  return freePort().then(async (port) => {
    const output: string[] = [];
    const proc = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', '--import', './bench/lib/probe.ts', ...extraArgs, script], {
      cwd: ROOT,
      env: { ...process.env, LOG_LEVEL: process.env.BENCH_SERVER_LOG_LEVEL ?? 'warn', ...env, PORT: String(port), HOST: '127.0.0.1' },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    track(proc);
    const keep = (d: Buffer) => {
      output.push(d.toString());
      if (output.length > 200) output.shift();
    };
    proc.stdout!.on('data', keep);
    proc.stderr!.on('data', keep);
    // BENCH_SERVER_LOG=<file> keeps the whole output of the server (with LOG_LEVEL=info: one line per request).
    if (process.env.BENCH_SERVER_LOG && script === 'src/main.ts') {
      const file = createWriteStream(process.env.BENCH_SERVER_LOG, { flags: 'a' });
      proc.stdout!.pipe(file);
      proc.stderr!.pipe(file);
    }
    const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
    let nextId = 1;
    const waiting = new Map<number, (r: ProbeReply) => void>();
    proc.on('message', (m: ProbeReply) => {
      const w = waiting.get(m.id);
      if (w) {
        waiting.delete(m.id);
        w(m);
      }
    });
    const url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 30_000;
    let up = false;
    let dead: number | null | undefined;
    exited.then((c) => (dead = c));
    while (!up && Date.now() < deadline && dead === undefined) {
      up = await fetch(`${url}/healthz`).then(
        (r) => r.ok,
        () => false,
      );
      if (!up) await new Promise((r) => setTimeout(r, 50));
    }
    if (!up) {
      proc.kill('SIGKILL');
      throw new Error(`${script} did not start: ${output.join('').slice(-2000)}`);
    }
    return {
      pid: proc.pid!,
      port,
      url,
      wsUrl: `ws://127.0.0.1:${port}`,
      proc,
      output,
      probe(kind = 'plain') {
        const id = nextId++;
        return new Promise<ProbeReply>((resolve, reject) => {
          const t = setTimeout(() => {
            waiting.delete(id);
            reject(new Error('probe timed out'));
          }, 30_000);
          waiting.set(id, (r) => {
            clearTimeout(t);
            resolve(r);
          });
          proc.send({ probe: kind, id });
        });
      },
      async stop() {
        if (proc.exitCode !== null || proc.signalCode !== null) return;
        proc.kill('SIGTERM');
        const t = setTimeout(() => proc.kill('SIGKILL'), 12_000);
        await exited;
        clearTimeout(t);
      },
    };
  });
}

export interface BenchServer extends Probed {
  dataDir: string;
  dbFile: string;
  /** Stops the process and deletes its data directory. */
  stop(): Promise<void>;
}

/** The real server in embedded mode (SQLite under a temp DATA_DIR, in-process routing), as `npm start` runs it. */
export async function startSwitchboard(opts: { dataDir?: string; env?: Record<string, string> } = {}): Promise<BenchServer> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'sb-bench-'));
  // BENCH_SERVER_NODE_ARGS adds node flags to the server process, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
  const nodeArgs = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const p = await startProbed(
    'src/main.ts',
    {
    DATA_DIR: dataDir,
    JWT_SECRET: BENCH_SECRET,
    RATE_REGISTER_PER_MIN: '1000000',
    RATE_TOKEN_PER_MIN: '1000000',
    // One load client plays many users from one address, and some play one user with many chats.
    RATE_WS_UPGRADES_PER_MIN: '10000000',
    MAX_SOCKETS_PER_USER: '100000',
    MESSAGES_PER_USER_PER_S: '1000000',
    MAX_OPEN_CONVERSATIONS: '100000',
    RATE_CONVERSATIONS_PER_MIN: '10000000',
      ...(opts.env ?? {}),
    },
    nodeArgs,
  ).catch((err) => {
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  });
  return {
    ...p,
    dataDir,
    dbFile: join(dataDir, 'switchboard.sqlite3'),
    async stop() {
      await p.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A bare `ws` server with no storage: `relay` fans each frame out to its room, `hello` answers a connect with one frame. */
export function startBare(mode: 'relay' | 'hello'): Promise<Probed> {
  return startProbed('bench/lib/bare-server.ts', { BARE_MODE: mode });
}

export function newDataDir(): string {
  return mkdtempSync(join(tmpdir(), 'sb-bench-'));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
