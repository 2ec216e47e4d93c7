// Idle sockets per instance: 15,000 customers hold an open chat socket on one server (75% of the
// 20,000-file limit; each client process holds 7,500). Each customer was assigned at connect (the reps
// have room for all), so the sockets are fully set-up chats with nothing to say. Measured in the server
// process: RSS and V8 heap after a full GC, before and after, divided by the sockets.
// Then 3,000 reps each hold one agent socket on a server of their own, measured the same way.
// Baseline in the same run: a bare `ws` server holding the same number of sockets from the same clients.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { ROOT, newDataDir, removeDir, startBare, startSwitchboard, track, type Probed } from './lib/procs.ts';
import type { ProbeReply } from './lib/probe.ts';
import { seed } from './lib/seed.ts';
import { sleep } from './lib/stats.ts';
import { log, metric, type BenchResult } from './lib/report.ts';
import { chatPath } from '../test/helpers/client.ts';

const NAME = 'idle';
const SOCKETS = 15_000;
const CLIENT_PROCESSES = 2;
const REPS = 150;
const CONCURRENCY = 100;
const OPEN_TIMEOUT_MS = 100_000;
/** Agent sockets (one per rep, each rep with nothing assigned), measured on a server of their own. */
const AGENTS = 3000;

interface Holding {
  sockets: number;
  failed: number;
  openS: number;
  before: ProbeReply;
  after: ProbeReply;
  fds: number;
  clientRssMiB: number[];
}

function startClient(): { proc: ChildProcess; messages: Array<Record<string, any>>; exited: Promise<void> } {
  const proc = track(spawn(process.execPath, ['--import', 'tsx', 'bench/lib/idle-client.ts'], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  const messages: Array<Record<string, any>> = [];
  proc.on('message', (m: Record<string, any>) => messages.push(m));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  return { proc, messages, exited };
}

function rssMiB(pid: number): number {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
  } catch {
    return 0;
  }
}

async function hold(target: Probed, targets: Array<{ path: string; token?: string }>, label: string): Promise<Holding> {
  const before = await target.probe('gc');
  const clients = Array.from({ length: CLIENT_PROCESSES }, startClient);
  const per = Math.ceil(targets.length / CLIENT_PROCESSES);
  const t0 = performance.now();
  clients.forEach((c, i) =>
    c.proc.send({ open: { base: target.wsUrl, targets: targets.slice(i * per, (i + 1) * per), concurrency: CONCURRENCY, timeoutMs: OPEN_TIMEOUT_MS } }),
  );
  let lastLog = 0;
  const deadline = Date.now() + OPEN_TIMEOUT_MS + 20_000;
  for (;;) {
    const done = clients.map((c) => c.messages.find((m) => m.done)?.done);
    if (done.every(Boolean) || Date.now() > deadline) break;
    if (Date.now() - lastLog > 5000) {
      lastLog = Date.now();
      const progress = clients.map((c) => [...c.messages].reverse().find((m) => m.progress || m.done));
      const answered = progress.reduce((a, m) => a + (m?.progress?.answered ?? m?.done?.answered ?? 0), 0);
      log(NAME, `${label}: ${answered}/${targets.length} sockets open after ${((performance.now() - t0) / 1000).toFixed(0)} s`);
    }
    await sleep(100);
  }
  const openS = (performance.now() - t0) / 1000;
  const results = clients.map((c) => c.messages.find((m) => m.done)?.done ?? { answered: 0, failed: per });
  const sockets = results.reduce((a, r) => a + r.answered, 0);
  const failed = results.reduce((a, r) => a + r.failed, 0);
  await sleep(1000);
  const after = await target.probe('gc');
  const fds = readdirSync(`/proc/${target.pid}/fd`).length;
  const clientRssMiB = clients.map((c) => rssMiB(c.proc.pid!));
  for (const c of clients) c.proc.send({ close: true });
  await Promise.race([Promise.all(clients.map((c) => c.exited)), sleep(10_000)]);
  for (const c of clients) if (c.proc.exitCode === null) c.proc.kill('SIGKILL');
  return { sockets, failed, openS, before, after, fds, clientRssMiB };
}

const perSocketKiB = (h: Holding, key: 'rss' | 'heapUsed' | 'external') => (h.after[key] - h.before[key]) / 1024 / Math.max(1, h.sockets);

export async function run(): Promise<BenchResult> {
  const startedAt = new Date().toISOString();
  const t0 = performance.now();

  const bare = await startBare('hello');
  let base: Holding;
  try {
    base = await hold(
      bare,
      Array.from({ length: SOCKETS }, (_, i) => ({ path: `/idle/${i}` })),
      'bare ws',
    );
  } finally {
    await bare.stop();
  }
  log(NAME, `bare ws: ${base.sockets} sockets in ${base.openS.toFixed(1)} s; ${perSocketKiB(base, 'rss').toFixed(1)} KiB RSS, ${perSocketKiB(base, 'heapUsed').toFixed(1)} KiB heap per socket`);

  const dataDir = newDataDir();
  const seeded = await seed(dataDir, { customers: SOCKETS, repCapacities: new Array(REPS).fill(Math.ceil(SOCKETS / REPS)) }).catch((err) => {
    removeDir(dataDir);
    throw err;
  });
  log(NAME, `seeded ${seeded.customers.length} customers and ${REPS} reps in ${seeded.seconds.toFixed(1)} s`);
  const server = await startSwitchboard({ dataDir, env: { CUSTOMER_GRACE_MS: '600000' } });
  let ours: Holding;
  try {
    ours = await hold(
      server,
      seeded.customers.map((c) => ({ path: chatPath(c.conversationId), token: c.access })),
      'switchboard',
    );
  } finally {
    await server.stop();
  }
  const agentDir = newDataDir();
  const agentSeed = await seed(agentDir, { customers: 0, repCapacities: new Array(AGENTS).fill(1), prefix: 'a' }).catch((err) => {
    removeDir(agentDir);
    throw err;
  });
  const agentServer = await startSwitchboard({ dataDir: agentDir, env: { REP_GRACE_MS: '600000' } });
  let agents: Holding;
  try {
    agents = await hold(
      agentServer,
      agentSeed.reps.map((r) => ({ path: '/ws/agent', token: r.access })),
      'switchboard agents',
    );
  } finally {
    await agentServer.stop();
  }
  log(NAME, `agent sockets: ${agents.sockets} in ${agents.openS.toFixed(1)} s; ${perSocketKiB(agents, 'rss').toFixed(1)} KiB RSS, ${perSocketKiB(agents, 'heapUsed').toFixed(1)} KiB heap per socket`);
  log(
    NAME,
    `switchboard: ${ours.sockets} sockets in ${ours.openS.toFixed(1)} s (${(ours.sockets / ours.openS).toFixed(0)}/s); ${perSocketKiB(ours, 'rss').toFixed(1)} KiB RSS, ${perSocketKiB(ours, 'heapUsed').toFixed(1)} KiB heap per socket; ${ours.fds} fds`,
  );

  return {
    bench: NAME,
    startedAt,
    durationS: (performance.now() - t0) / 1000,
    metrics: [
      metric({
        name: 'idle sockets held by one instance',
        unit: 'sockets',
        median: ours.sockets,
        baseline: { name: 'bare ws', median: base.sockets },
        aim: '>= 15,000',
        met: ours.sockets >= 15_000,
      }),
      metric({
        name: 'server RSS per idle customer chat socket (after GC)',
        unit: 'KiB',
        median: perSocketKiB(ours, 'rss'),
        baseline: { name: 'bare ws', median: perSocketKiB(base, 'rss') },
        aim: '<= 8 KiB',
        met: perSocketKiB(ours, 'rss') <= 8,
      }),
      metric({
        name: `server RSS per idle agent socket (${AGENTS} reps, after GC)`,
        unit: 'KiB',
        median: perSocketKiB(agents, 'rss'),
        baseline: { name: 'bare ws', median: perSocketKiB(base, 'rss') },
        aim: '<= 8 KiB',
        met: perSocketKiB(agents, 'rss') <= 8,
      }),
      metric({ name: 'server V8 heap per idle agent socket (after GC)', unit: 'KiB', median: perSocketKiB(agents, 'heapUsed'), baseline: { name: 'bare ws', median: perSocketKiB(base, 'heapUsed') } }),
      metric({ name: 'server V8 heap per idle socket (after GC)', unit: 'KiB', median: perSocketKiB(ours, 'heapUsed'), baseline: { name: 'bare ws', median: perSocketKiB(base, 'heapUsed') } }),
      metric({ name: 'sockets opened per second (100 in flight per client)', unit: 'sockets/s', median: ours.sockets / ours.openS, baseline: { name: 'bare ws', median: base.sockets / base.openS } }),
    ],
    details: {
      sockets: SOCKETS,
      clientProcesses: CLIENT_PROCESSES,
      switchboard: { ...ours, perSocketKiB: { rss: perSocketKiB(ours, 'rss'), heapUsed: perSocketKiB(ours, 'heapUsed'), external: perSocketKiB(ours, 'external') } },
      agents: { ...agents, perSocketKiB: { rss: perSocketKiB(agents, 'rss'), heapUsed: perSocketKiB(agents, 'heapUsed'), external: perSocketKiB(agents, 'external') } },
      bare: { ...base, perSocketKiB: { rss: perSocketKiB(base, 'rss'), heapUsed: perSocketKiB(base, 'heapUsed'), external: perSocketKiB(base, 'external') } },
      seedS: seeded.seconds,
    },
    notes: [
      `Server process held ${ours.fds} open files at the peak (limit 20,000); each client process held ${SOCKETS / CLIENT_PROCESSES} sockets (client RSS ${ours.clientRssMiB.map((m) => m.toFixed(0)).join('/')} MiB). Kernel socket buffers are not in RSS.`,
    ],
  };
}
