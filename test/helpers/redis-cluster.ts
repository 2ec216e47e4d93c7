// A throwaway Redis Cluster of 3 masters (no replicas) on free ports in a temp dir, for the suites that must
// also pass on a cluster. Started with `redis-server --cluster-enabled yes` and `redis-cli --cluster create`.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster } from 'ioredis';
import { freePort } from './processes.ts';
import { eventually } from './wait.ts';

export interface ThrowawayCluster {
  nodes: Array<{ host: string; port: number }>;
  /** A new ioredis Cluster client (the caller closes it). */
  connect(): Cluster;
  stop(): Promise<void>;
}

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout.on('data', (d) => (out += d.toString()));
    proc.stderr.on('data', (d) => (out += d.toString()));
    proc.once('error', reject);
    proc.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(' ')} exited with ${code}: ${out}`))));
  });
}

async function until(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  await eventually(check, { timeoutMs, intervalMs: 100, what: `${what} ready` });
}

export async function startRedisCluster(): Promise<ThrowawayCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'sb-cluster-'));
  const procs: ChildProcess[] = [];
  const nodes: Array<{ host: string; port: number }> = [];
  const stop = async () => {
    await Promise.all(
      procs.map((proc) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return undefined;
        const exited = new Promise((resolve) => proc.once('exit', resolve));
        proc.kill('SIGKILL');
        return exited;
      }),
    );
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      // The cluster bus port is port + 10000 unless set: a free port of its own avoids a clash.
      const busPort = await freePort();
      const nodeDir = join(dir, String(port));
      await run('mkdir', ['-p', nodeDir]);
      const proc = spawn(
        'redis-server',
        ['--port', String(port), '--cluster-port', String(busPort), '--bind', '127.0.0.1', '--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--save', '', '--appendonly', 'no', '--dir', nodeDir],
        { stdio: 'ignore' },
      );
      procs.push(proc);
      nodes.push({ host: '127.0.0.1', port });
    }
    for (const n of nodes) await until(async () => (await run('redis-cli', ['-p', String(n.port), 'ping'])).includes('PONG'), 10_000, `redis-server on ${n.port}`);
    await run('redis-cli', ['--cluster', 'create', ...nodes.map((n) => `${n.host}:${n.port}`), '--cluster-replicas', '0', '--cluster-yes']);
    for (const n of nodes) {
      await until(async () => (await run('redis-cli', ['-p', String(n.port), 'cluster', 'info'])).includes('cluster_state:ok'), 15_000, `cluster state on ${n.port}`);
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    nodes,
    connect() {
      const cluster = new Cluster(nodes, { lazyConnect: true, redisOptions: { maxRetriesPerRequest: 1 } });
      cluster.on('error', () => undefined);
      return cluster;
    },
    stop,
  };
}
