// The scaled mode: 2 instances behind the shipped nginx config (round robin, the upgrade passed through) on
// PostgreSQL and Redis, against the same shapes on 1 instance behind the same nginx config, in the same run.
// Both deployments are up at once (each with its own fresh database and its own throwaway redis-server, so
// that the CPU figures of each are its own), and their relay rounds alternate.
//   relay  200 conversations, customer and rep connected through nginx; each customer sends 10 msg/s (2000
//          msg/s offered); send-to-rep latency; every message sent is checked against the database.
//   drain  1000 customers queued through nginx; 10 reps raise capacity to 10 and close each chat (POST
//          /close/ through nginx) as soon as it is assigned: customers served per second.
// For each phase: CPU of the instances, nginx, the PostgreSQL backends of the deployment's database (from
// /proc/<pid>/stat) and redis-server (INFO cpu), per message stored and per customer served.
import { performance } from 'node:perf_hooks';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { startSwitchboard, type BenchServer } from './lib/procs.ts';
import { seedStore, type Seeded } from './lib/seed.ts';
import { ChatClient, closeAll, keepAliveAgent, openSocket, openWithFrame, request as http, settled, type WebSocket } from './lib/ws.ts';
import { mapLimit, summarize, until } from './lib/stats.ts';
import { log, metric, type BenchResult } from './lib/report.ts';
import { Lane, Target, paced, type PacedRound } from './relay.ts';
import { chatPath } from '../test/helpers/client.ts';
import { startNginx, requireNginx, type RunningNginx } from '../test/helpers/nginx.ts';
import { createTempDatabase, PG_ADMIN_URL, type TempDatabase } from '../test/helpers/pg.ts';
import { startRedis, type ThrowawayRedis } from '../test/helpers/processes.ts';
import { openPostgres } from '../src/store/open.ts';

const NAME = 'scaled';
const CONVERSATIONS = 200;
const RELAY_REPS = 20;
const RATE_PER_CONV = 10;
const PACED_S = 5;
const ROUNDS = 2;
/** A lower offered rate per conversation, to show where the p99 stands when the machine is not the bound. */
const LOW_RATE_PER_CONV = 2;
const CHURN_CUSTOMERS = 1000;
const CHURN_REPS = 10;
const CHURN_CAPACITY = 10;
const CONNECT_CONCURRENCY = 50;
const CLK_TCK = 100;

interface CpuSample {
  instancesMs: number;
  nginxMs: number;
  pgMs: number;
  redisMs: number;
}

interface Deployment {
  label: string;
  instances: BenchServer[];
  nginx: RunningNginx;
  redis: ThrowawayRedis;
  db: TempDatabase;
  dbName: string;
  seeded: Seeded;
  stop(): Promise<void>;
}

/** utime + stime of a process, in ms (0 once it is gone). */
function procCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK;
  } catch {
    return 0;
  }
}

/** nginx's master and its workers. */
function nginxPids(n: RunningNginx): number[] {
  const master = Number(readFileSync(join(n.dir, 'nginx.pid'), 'utf8').trim());
  const pids = [master];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === master) pids.push(Number(d));
    } catch {
      /* gone */
    }
  }
  return pids;
}

async function pgBackendCpu(admin: pg.Client, dbName: string): Promise<Map<number, number>> {
  const { rows } = await admin.query<{ pid: number }>('select pid from pg_stat_activity where datname = $1', [dbName]);
  return new Map(rows.map((r) => [r.pid, procCpuMs(r.pid)]));
}

async function redisCpuMs(r: ThrowawayRedis): Promise<number> {
  const info = await r.client.info('cpu');
  const get = (k: string) => Number(new RegExp(`${k}:([\\d.]+)`).exec(info)?.[1] ?? 0);
  return (get('used_cpu_sys') + get('used_cpu_user')) * 1000;
}

/** Starts measuring a deployment's CPU; the returned function gives the CPU used since. */
async function cpuSince(admin: pg.Client, d: Deployment): Promise<() => Promise<CpuSample>> {
  const inst0 = await Promise.all(d.instances.map((i) => i.probe()));
  const nginx0 = new Map(nginxPids(d.nginx).map((p) => [p, procCpuMs(p)]));
  const pg0 = await pgBackendCpu(admin, d.dbName);
  const redis0 = await redisCpuMs(d.redis);
  return async () => {
    const inst1 = await Promise.all(d.instances.map((i) => i.probe()));
    const instancesMs = inst1.reduce((a, p, k) => a + (p.cpuUserUs + p.cpuSystemUs - inst0[k].cpuUserUs - inst0[k].cpuSystemUs) / 1000, 0);
    const nginxMs = nginxPids(d.nginx).reduce((a, p) => a + procCpuMs(p) - (nginx0.get(p) ?? 0), 0);
    // A backend opened during the phase counts from 0; one that closed during it is missed (pools keep theirs).
    const pg1 = await pgBackendCpu(admin, d.dbName);
    let pgMs = 0;
    for (const [pid, ms] of pg1) pgMs += ms - (pg0.get(pid) ?? 0);
    return { instancesMs, nginxMs, pgMs, redisMs: (await redisCpuMs(d.redis)) - redis0 };
  };
}

async function deploy(label: string, instances: number): Promise<Deployment> {
  const db = await createTempDatabase('sbbench');
  const redis = await startRedis();
  const started: BenchServer[] = [];
  let nginx: RunningNginx | undefined;
  try {
    const seeded = await seedStore(await openPostgres({ url: db.url }), {
      customers: CONVERSATIONS + CHURN_CUSTOMERS,
      repCapacities: [...new Array(RELAY_REPS).fill(CONVERSATIONS / RELAY_REPS), ...new Array(CHURN_REPS).fill(0)],
    });
    const env = {
      DATABASE_URL: db.url,
      REDIS_URL: redis.url,
      REDIS_PREFIX: 'sbbench',
      WS_FRAMES_PER_S: '100000',
      MAX_REP_CAPACITY: '1000',
      REP_GRACE_MS: '600000',
      CUSTOMER_GRACE_MS: '600000',
      // Every client comes through nginx, so the instances see one address.
      TRUST_PROXY: '1',
    };
    // One after the other: each applies the migrations (none are left after the seed) at start.
    for (let k = 0; k < instances; k++) started.push(await startSwitchboard({ env }));
    nginx = await startNginx(started.map((i) => `127.0.0.1:${i.port}`));
    const n = nginx;
    return {
      label,
      instances: started,
      nginx: n,
      redis,
      db,
      dbName: new URL(db.url).pathname.slice(1),
      seeded,
      async stop() {
        await n.stop();
        await Promise.all(started.map((i) => i.stop()));
        await redis.stop();
        await db.drop();
      },
    };
  } catch (err) {
    await nginx?.stop();
    await Promise.all(started.map((i) => i.stop()));
    await redis.stop();
    await db.drop().catch(() => undefined);
    throw err;
  }
}

async function relayTarget(d: Deployment): Promise<Target> {
  const customers = d.seeded.customers.slice(0, CONVERSATIONS);
  const repByProfile = new Map(d.seeded.reps.map((r) => [r.profileId, r]));
  const lanes = await mapLimit(customers, CONNECT_CONCURRENCY, async (c, i) => {
    const path = chatPath(c.conversationId);
    const { ws: customer, frame } = await openWithFrame(d.nginx.wsUrl + path, c.access, (f) => f.type === 'assigned' || f.type === 'queued');
    if (frame.type !== 'assigned') throw new Error(`${d.label}: relay conversation ${i} was queued, not assigned`);
    const rep = repByProfile.get(frame.rep.id);
    if (!rep) throw new Error(`${d.label}: unknown rep ${frame.rep.id}`);
    const repSocket = await openSocket(d.nginx.wsUrl + path, rep.access);
    await Promise.all([settled(customer), settled(repSocket)]);
    return new Lane(i, customer, repSocket);
  });
  return new Target(d.label, lanes, d.instances[0]);
}

async function storedCount(d: Deployment, conversations: string[]): Promise<number> {
  const c = new pg.Client({ connectionString: d.db.url });
  await c.connect();
  try {
    const { rows } = await c.query<{ n: string }>('select count(*) as n from messages where conversation_id = any($1::text[])', [conversations]);
    return Number(rows[0].n);
  } finally {
    await c.end();
  }
}

/** Monotonic µs, the clock of V8's CPU profiles: `profile-top.ts --window` reads one phase of a profiled run. */
const monoUs = () => process.hrtime.bigint() / 1000n;

async function churn(d: Deployment): Promise<{ rate: number; closeP99: number; closeErrors: number }> {
  const connectFromUs = monoUs();
  const customers = d.seeded.customers.slice(CONVERSATIONS);
  const reps = d.seeded.reps.slice(RELAY_REPS);
  const agents: WebSocket[] = await Promise.all(reps.map(async (r) => (await openWithFrame(`${d.nginx.wsUrl}/ws/agent/`, r.access, (f) => f.type === 'queue')).ws));
  const clients = await mapLimit(customers, CONNECT_CONCURRENCY, async (c) => {
    const client = new ChatClient(d.nginx.wsUrl + chatPath(c.conversationId), c.access, c.conversationId);
    await client.first;
    if (client.firstType !== 'queued') throw new Error(`${d.label}: a churn customer was assigned before any capacity was raised`);
    return client;
  });
  const pools = new Map(reps.map((r) => [r.profileId, { token: r.access, agent: keepAliveAgent(6) }]));
  const closeMs: number[] = [];
  let closeErrors = 0;
  const closing: Promise<void>[] = [];
  for (const c of clients) {
    c.onAssigned = (cl) => {
      const pool = pools.get(cl.repId!)!;
      const s = performance.now();
      closing.push(
        http(d.nginx.url, 'POST', `/api/conversations/${cl.conversationId}/close/`, { token: pool.token, agent: pool.agent }).then(
          (r) => {
            if (r.status !== 200) closeErrors++;
            closeMs.push(performance.now() - s);
          },
          () => void closeErrors++,
        ),
      );
    };
  }
  const drainFromUs = monoUs();
  const t0 = performance.now();
  await Promise.all(reps.map((r) => http(d.nginx.url, 'PATCH', '/api/reps/me/', { token: r.access, body: { max_capacity: CHURN_CAPACITY }, agent: pools.get(r.profileId)!.agent })));
  const all = await until(() => clients.every((c) => c.assignedAt !== undefined), 90_000);
  if (!all) throw new Error(`${d.label} churn: only ${clients.filter((c) => c.assignedAt !== undefined).length}/${clients.length} assigned within 90 s`);
  const last = Math.max(...clients.map((c) => c.assignedAt!));
  await Promise.all(closing);
  log(NAME, `${d.label} churn windows (profile-top --window): connects ${connectFromUs},${drainFromUs}; drain ${drainFromUs},${monoUs()}`);
  for (const p of pools.values()) p.agent.destroy();
  await closeAll([...clients.map((c) => c.ws), ...agents]);
  return { rate: (clients.length / (last - t0)) * 1000, closeP99: summarize(closeMs).p99, closeErrors };
}

const perUnit = (ms: number, n: number) => (n > 0 ? (ms * 1000) / n : NaN);

function cpuLine(label: string, s: CpuSample, n: number, unit: string): string {
  return `${label}: CPU per ${unit} (µs) instances ${perUnit(s.instancesMs, n).toFixed(0)}, nginx ${perUnit(s.nginxMs, n).toFixed(0)}, PostgreSQL ${perUnit(s.pgMs, n).toFixed(0)}, Redis ${perUnit(s.redisMs, n).toFixed(0)}`;
}

const addCpu = (a: CpuSample, b: CpuSample): CpuSample => ({
  instancesMs: a.instancesMs + b.instancesMs,
  nginxMs: a.nginxMs + b.nginxMs,
  pgMs: a.pgMs + b.pgMs,
  redisMs: a.redisMs + b.redisMs,
});

export async function run(): Promise<BenchResult> {
  const startedAt = new Date().toISOString();
  const t0 = performance.now();
  if (requireNginx()) throw new Error('nginx is not installed (apt-get install nginx-light)');
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  const deployments: Deployment[] = [];
  try {
    deployments.push(await deploy('1 instance', 1));
    deployments.push(await deploy('2 instances', 2));
    log(NAME, `seeded and started both deployments in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const [one, two] = deployments;
    const targets = new Map<Deployment, Target>();
    for (const d of deployments) targets.set(d, await relayTarget(d));

    const zero: CpuSample = { instancesMs: 0, nginxMs: 0, pgMs: 0, redisMs: 0 };
    const relay = new Map<Deployment, { rounds: PacedRound[]; cpu: CpuSample }>(deployments.map((d) => [d, { rounds: [], cpu: zero }]));
    for (let r = 0; r < ROUNDS; r++) {
      for (const d of deployments) {
        const done = await cpuSince(admin, d);
        const round = await paced(targets.get(d)!, RATE_PER_CONV, PACED_S);
        const cpu = await done();
        const entry = relay.get(d)!;
        entry.rounds.push(round);
        entry.cpu = addCpu(entry.cpu, cpu);
        const s = summarize(round.latencies);
        log(NAME, `${d.label} paced ${CONVERSATIONS}x${RATE_PER_CONV} msg/s round ${r + 1}: median ${s.median.toFixed(2)} ms, p99 ${s.p99.toFixed(2)} ms${round.deliveredInTime ? '' : ' (backlog not drained in 30 s)'}`);
      }
    }
    const low = new Map<Deployment, { p50: number; p99: number; offeredPerS: number }>();
    for (const d of deployments) {
      const round = await paced(targets.get(d)!, LOW_RATE_PER_CONV, PACED_S);
      const s = summarize(round.latencies);
      low.set(d, { p50: s.median, p99: s.p99, offeredPerS: round.offeredPerS });
      log(NAME, `${d.label} paced ${CONVERSATIONS}x${LOW_RATE_PER_CONV} msg/s: median ${s.median.toFixed(2)} ms, p99 ${s.p99.toFixed(2)} ms`);
    }
    const relayOut = new Map<Deployment, { p50: number; p99: number; sent: number; received: number; stored: number; cpu: CpuSample }>();
    for (const d of deployments) {
      const t = targets.get(d)!;
      const stored = await storedCount(d, d.seeded.customers.slice(0, CONVERSATIONS).map((c) => c.conversationId));
      const lat = summarize(relay.get(d)!.rounds.flatMap((r) => r.latencies));
      relayOut.set(d, { p50: lat.median, p99: lat.p99, sent: t.sent(), received: t.received(), stored, cpu: relay.get(d)!.cpu });
      log(NAME, `${d.label}: ${stored}/${t.sent()} messages stored, ${t.received()} received by reps; ${cpuLine('relay', relay.get(d)!.cpu, t.sent(), 'message')}`);
      await closeAll(t.lanes.flatMap((l) => [l.customer, l.rep]));
    }

    const churnOut = new Map<Deployment, { rate: number; closeP99: number; closeErrors: number; cpu: CpuSample }>();
    for (const d of deployments) {
      const done = await cpuSince(admin, d);
      const c = await churn(d);
      const cpu = await done();
      churnOut.set(d, { ...c, cpu });
      log(NAME, `${d.label} close churn: ${c.rate.toFixed(0)} customers/s, close p99 ${c.closeP99.toFixed(1)} ms, ${c.closeErrors} errors; ${cpuLine('churn', cpu, CHURN_CUSTOMERS, 'customer')}`);
    }

    const r1 = relayOut.get(one)!;
    const r2 = relayOut.get(two)!;
    const c1 = churnOut.get(one)!;
    const c2 = churnOut.get(two)!;
    const lostTwo = r2.sent - Math.min(r2.stored, r2.received);
    return {
      bench: NAME,
      startedAt,
      durationS: (performance.now() - t0) / 1000,
      metrics: [
        metric({ name: `relay p99, 2 instances behind nginx (${CONVERSATIONS}x${RATE_PER_CONV} msg/s)`, unit: 'ms', median: r2.p50, p99: r2.p99, baseline: { name: '1 instance', median: r1.p99 }, aim: 'p99 <= 15 ms', met: r2.p99 <= 15 }),
        metric({ name: `relay p99, 2 instances behind nginx (${CONVERSATIONS}x${LOW_RATE_PER_CONV} msg/s)`, unit: 'ms', median: low.get(two)!.p50, p99: low.get(two)!.p99, baseline: { name: '1 instance', median: low.get(one)!.p99 } }),
        metric({ name: 'relay messages lost, 2 instances (sent - stored/received)', unit: 'messages', median: lostTwo, baseline: { name: '1 instance', median: r1.sent - Math.min(r1.stored, r1.received) }, aim: '0', met: lostTwo === 0 }),
        metric({ name: 'drain by close churn, 2 instances behind nginx', unit: 'customers/s', median: c2.rate, baseline: { name: '1 instance', median: c1.rate }, aim: '>= 500/s', met: c2.rate >= 500 }),
        metric({ name: 'PostgreSQL backend CPU per message, 2 instances', unit: 'µs', median: perUnit(r2.cpu.pgMs, r2.sent), baseline: { name: '1 instance', median: perUnit(r1.cpu.pgMs, r1.sent) } }),
        metric({ name: 'Redis CPU per message, 2 instances', unit: 'µs', median: perUnit(r2.cpu.redisMs, r2.sent), baseline: { name: '1 instance', median: perUnit(r1.cpu.redisMs, r1.sent) } }),
        metric({ name: 'PostgreSQL backend CPU per customer served (churn), 2 instances', unit: 'µs', median: perUnit(c2.cpu.pgMs, CHURN_CUSTOMERS), baseline: { name: '1 instance', median: perUnit(c1.cpu.pgMs, CHURN_CUSTOMERS) } }),
        metric({ name: 'Redis CPU per customer served (churn), 2 instances', unit: 'µs', median: perUnit(c2.cpu.redisMs, CHURN_CUSTOMERS), baseline: { name: '1 instance', median: perUnit(c1.cpu.redisMs, CHURN_CUSTOMERS) } }),
      ],
      details: {
        relay: Object.fromEntries(deployments.map((d) => [d.label, relayOut.get(d)])),
        relayLowRate: Object.fromEntries(deployments.map((d) => [d.label, low.get(d)])),
        churn: Object.fromEntries(deployments.map((d) => [d.label, churnOut.get(d)])),
        cpuPerMessageUs: Object.fromEntries(
          deployments.map((d) => {
            const r = relayOut.get(d)!;
            return [d.label, { instances: perUnit(r.cpu.instancesMs, r.sent), nginx: perUnit(r.cpu.nginxMs, r.sent), pg: perUnit(r.cpu.pgMs, r.sent), redis: perUnit(r.cpu.redisMs, r.sent) }];
          }),
        ),
      },
      notes: [
        'Both deployments use the shipped deploy/nginx.conf (1 or 2 upstreams), PostgreSQL (a fresh database each) and a throwaway redis-server each; load client, nginx, instances, PostgreSQL and Redis share the same 2 cores.',
        'PostgreSQL CPU is the utime+stime of the backends serving the deployment\'s database (/proc/<pid>/stat); the shared WAL writer and checkpointer are not counted.',
      ],
    };
  } finally {
    for (const d of deployments.reverse()) await d.stop().catch(() => undefined);
    await admin.end();
  }
}
