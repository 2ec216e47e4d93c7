// Queue scale: the cost of each routing operation with 1,000 and with 100,000 conversations queued, on both
// modes (embedded: SQLite + memory router + in-memory presence set; scaled: PostgreSQL + Redis router + Redis
// presence set). The queue is bulk-inserted through the store's schema (no registrations, no sockets), the
// router loaded from the store's snapshot, and the presence grace is an hour, so nobody is abandoned except
// on purpose. Measured through the services, as an instance runs them:
//   enqueue          enqueueConversation of a new conversation (no free slot: it goes to the tail)
//   dispatch         a rep's capacity +1 (updateRepSettings): the head is proposed and assigned
//   position         router.position of a random queued conversation (a rank lookup)
//   close-and-next   closeConversation of an assigned chat: its slot goes to the head, in one transaction
//   sweep (idle)     one presence sweep with nothing expired
//   sweep (5 gone)   one presence sweep with 5 customers past their grace (5 abandons)
// Scaled mode also reports Redis CPU per operation, from a throwaway redis-server that serves nothing else:
// INFO commandstats (usec summed over commands) and INFO cpu (used_cpu_user + used_cpu_sys).
// The aim: each operation's median at 100,000 within 2x of its median at 1,000.
import { performance } from 'node:perf_hooks';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyBaseLogger } from 'fastify';
import { pino } from 'pino';
import type { Redis } from 'ioredis';
import { openPostgres, openSqlite } from '../src/store/open.ts';
import type { SqlStore } from '../src/store/sql-store.ts';
import type { Router } from '../src/routing/port.ts';
import { MemoryRouter } from '../src/routing/memory-router.ts';
import { RedisRouter } from '../src/routing/redis/redis-router.ts';
import { routingScripts } from '../src/routing/redis/scripts.ts';
import { MemoryBus } from '../src/bus/memory-bus.ts';
import { RoutingReconciler } from '../src/services/reconcile.ts';
import { ServiceContext } from '../src/services/context.ts';
import { enqueueConversation } from '../src/services/enqueue.ts';
import { registerRep, updateRepSettings } from '../src/services/reps.ts';
import { closeConversation } from '../src/services/close.ts';
import { MemoryLastSeen, RedisLastSeen, type LastSeenSet } from '../src/realtime/last-seen.ts';
import { PresenceSweeper, SWEEP_BATCH, SWEEP_MODE } from '../src/realtime/presence-sweep.ts';
import { uuidv7 } from '../src/store/uuid.ts';
import { sql } from 'kysely';
import { startRedis, type ThrowawayRedis } from '../test/helpers/processes.ts';
import { createTempDatabase, requirePostgres } from '../test/helpers/pg.ts';
import { removeDir } from './lib/procs.ts';
import { summarize, round } from './lib/stats.ts';
import { log, metric, type BenchResult, type Metric } from './lib/report.ts';

const NAME = 'queue-scale';
const SIZES = [1_000, 100_000] as const;
const OPS = Number(process.env.BENCH_QUEUE_OPS ?? 200);
const POSITIONS = 2000;
const SWEEPS = 100;
/** Each kind of operation runs in this many alternating rounds per size. */
const ROUNDS = 4;
const HOUR = 3_600_000;
const OP_NAMES = ['enqueue', 'dispatch', 'position', 'close-and-next', 'sweep (idle)', 'sweep (5 gone)'] as const;
type Op = (typeof OP_NAMES)[number];

interface ModeSpec {
  name: string;
  shared: boolean;
  open(): Promise<{ store: SqlStore; router: Router; lastSeen: (name: string) => LastSeenSet; redis?: Redis; close(): Promise<void> }>;
}

const quiet = pino({ level: 'silent' }) as unknown as FastifyBaseLogger;
const PW = 'scrypt$16384$8$1$x$y';
let userN = 0;
const user = (p: string) => ({ username: `${p}${userN++}`, email: '', firstName: '', lastName: '', passwordHash: PW });

async function redisCounters(redis: Redis): Promise<{ usec: number; calls: number; cpuUsec: number }> {
  const stats = await redis.info('commandstats');
  let usec = 0;
  let calls = 0;
  for (const m of stats.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) {
    if (m[1] === 'info') continue;
    calls += Number(m[2]);
    usec += Number(m[3]);
  }
  const cpu = await redis.info('cpu');
  const user = Number(/used_cpu_user:([\d.]+)/.exec(cpu)?.[1] ?? 0);
  const sys = Number(/used_cpu_sys:([\d.]+)/.exec(cpu)?.[1] ?? 0);
  return { usec, calls, cpuUsec: (user + sys) * 1e6 };
}

/** N queued conversations of one customer, in queue_seq order, straight into the schema. */
async function bulkQueue(store: SqlStore, customerId: number, n: number): Promise<void> {
  const now = Date.now();
  const chunk = 500;
  for (let from = 0; from < n; from += chunk) {
    const rows = [];
    for (let i = from; i < Math.min(n, from + chunk); i++) {
      rows.push({ id: uuidv7(now - n + i), customer_id: customerId, status: 'queued', queue_seq: i + 1, queued_at: now - n + i, version: 1, created_at: now - n + i, last_seq: 0 });
    }
    await store.db.insertInto('conversations').values(rows as never).execute();
  }
  await store.db.updateTable('counters').set({ value: n } as never).where('name', '=', 'queue_seq').execute();
  // A live database has statistics and a visibility map for its tables; a bulk load has neither until
  // autovacuum comes by (in the middle of the measurement, otherwise).
  await (store.dialect === 'postgres' ? sql`vacuum analyze` : sql`analyze`).execute(store.db);
}

async function timed(into: number[], fn: () => Promise<unknown>): Promise<void> {
  const t = performance.now();
  await fn();
  into.push(performance.now() - t);
}

type Env = Awaited<ReturnType<ModeSpec['open']>>;

/** One size of one mode, seeded and loaded, with what the operations need. */
async function prepare(spec: ModeSpec, size: number) {
  const env: Env = await spec.open();
  const { store, router } = env;
  const ctx = new ServiceContext(store, router, new MemoryBus());
  const t0 = performance.now();
  const customer = (await store.createCustomer(user('qs-c'), 1)).profile;
  await bulkQueue(store, customer.id, size);
  const rep = (await store.createRep(user('qs-r'), 0)).profile;
  await router.rebuild(await store.routingSnapshot());
  await registerRep(ctx, rep);
  const convs = env.lastSeen('conv');
  const sweeper = new PresenceSweeper(
    ctx,
    env.lastSeen('rep'),
    convs,
    {
      repGraceMs: HOUR,
      customerGraceMs: HOUR,
      repHasSocket: () => false,
      customerHasSocket: () => false,
      localReps: () => [],
      localCustomerConversations: () => [],
      ...(env.redis ? SWEEP_MODE.shared : SWEEP_MODE.local),
    },
    quiet,
  );
  // Presence follows the queue from its start once (SWEEP_BATCH entries a sweep), as after a restart.
  for (let i = 0; i <= Math.ceil(size / SWEEP_BATCH); i++) await sweeper.sweep();
  const fresh: string[] = [];
  for (let i = 0; i < OPS; i++) fresh.push((await store.createConversation(customer.id, Date.now())).id);
  const sample = (await router.queue({ offset: 2 * OPS, limit: Math.min(size - 2 * OPS, 5000) })).map((e) => e.conversationId);
  const seedS = (performance.now() - t0) / 1000;
  log(NAME, `${spec.name}, ${size.toLocaleString('en-US')} queued: seeded and loaded in ${seedS.toFixed(1)} s`);
  const ms = Object.fromEntries(OP_NAMES.map((o) => [o, [] as number[]])) as Record<Op, number[]>;
  const redisSums = Object.fromEntries(OP_NAMES.map((o) => [o, { usec: 0, cpuUsec: 0, calls: 0, ops: 0 }])) as Record<Op, { usec: number; cpuUsec: number; calls: number; ops: number }>;
  return { spec, size, env, ctx, rep, convs, sweeper, fresh, sample, seedS, ms, redisSums, capacity: 0, held: [] as string[], expired: 0, reconcileMs: [] as number[] };
}

type Prepared = Awaited<ReturnType<typeof prepare>>;

/** Runs `count` operations of one kind, adding their times and (scaled) Redis's counters. */
async function runOps(p: Prepared, op: Op, count: number): Promise<void> {
  const { env, ctx, rep, ms } = p;
  const before = env.redis ? await redisCounters(env.redis) : undefined;
  let ops = count;
  switch (op) {
    case 'enqueue':
      for (const id of p.fresh.splice(0, count)) await timed(ms.enqueue, () => enqueueConversation(ctx, id));
      break;
    case 'position':
      // Timed 20 at a time: one in-memory lookup takes about as long as reading the clock.
      ops = count * 20;
      for (let i = 0; i < count; i++) {
        const ids = Array.from({ length: 20 }, () => p.sample[Math.floor(Math.random() * p.sample.length)]);
        const t = performance.now();
        for (const id of ids) await env.router.position(id);
        ms.position.push((performance.now() - t) / 20);
      }
      break;
    case 'dispatch':
      for (let i = 0; i < count; i++) await timed(ms.dispatch, () => updateRepSettings(ctx, rep.id, { maxCapacity: ++p.capacity }));
      break;
    case 'close-and-next': {
      if (p.held.length === 0) p.held = (await env.store.assignedTo(rep.id)).map((c) => c.id);
      for (const id of p.held.splice(0, count)) await timed(ms['close-and-next'], () => closeConversation(ctx, { conversationId: id, by: 'rep', closingRepId: rep.id }));
      break;
    }
    case 'sweep (idle)':
      for (let i = 0; i < count; i++) await timed(ms['sweep (idle)'], () => p.sweeper.sweep());
      break;
    case 'sweep (5 gone)':
      for (let i = 0; i < count; i++) {
        // Five customers who left an hour ago, spread over the queue (not counted in the Redis figures).
        for (let j = 0; j < 5; j++) {
          const id = p.sample[(p.expired++ * 97) % p.sample.length];
          await p.convs.remove(id);
          await p.convs.seed([id], Date.now() - 2 * HOUR);
        }
        const b = env.redis ? await redisCounters(env.redis) : undefined;
        await timed(ms['sweep (5 gone)'], () => p.sweeper.sweep());
        if (env.redis && b) addRedis(p, op, b, await redisCounters(env.redis), 1);
      }
      return;
  }
  if (env.redis && before) addRedis(p, op, before, await redisCounters(env.redis), ops);
}

function addRedis(p: Prepared, op: Op, a: { usec: number; calls: number; cpuUsec: number }, b: { usec: number; calls: number; cpuUsec: number }, ops: number): void {
  const s = p.redisSums[op];
  s.usec += b.usec - a.usec;
  s.cpuUsec += b.cpuUsec - a.cpuUsec;
  s.calls += b.calls - a.calls;
  s.ops += ops;
}

/**
 * Both sizes are loaded at once and measured in alternating rounds, kind by kind, so that load from other
 * processes on the machine (and PostgreSQL's commits, which dominate its figures) falls on both alike.
 */
async function measureMode(spec: ModeSpec): Promise<Prepared[]> {
  const both: Prepared[] = [];
  try {
    for (const size of SIZES) both.push(await prepare(spec, size));
    for (const op of OP_NAMES) {
      // Whatever the operations before queued is followed first: an idle sweep has nothing new to seed.
      if (op === 'sweep (idle)') for (const p of both) await p.sweeper.sweep();
      const perRound = op === 'position' ? POSITIONS / 20 / ROUNDS : op.startsWith('sweep') ? SWEEPS / ROUNDS : OPS / ROUNDS;
      for (let r = 0; r < ROUNDS; r++) for (const p of r % 2 === 0 ? both : [...both].reverse()) await runOps(p, op, perRound);
    }
    // The reconciler reads the whole routing state: not one of the flat operations, reported for its pace
    // (the wait before the next pass is 50 times the last pass, at least 2 s).
    for (let r = 0; r < 3; r++) {
      for (const p of both) {
        const reconciler = new RoutingReconciler(p.ctx, async () => true);
        await timed(p.reconcileMs, () => reconciler.pass());
      }
    }
    for (const p of both) {
      if ((await p.env.store.assignedTo(p.rep.id)).length !== OPS) throw new Error('close-and-next did not hand every slot on');
      const abandoned = await p.env.store.db.selectFrom('conversations').select((eb) => eb.fn.countAll().as('n')).where('status', '=', 'abandoned').executeTakeFirst();
      log(NAME, `${spec.name}, ${p.size.toLocaleString('en-US')} queued: ${String(abandoned?.n)} abandoned by the sweeps (${5 * SWEEPS} made to expire)`);
    }
    return both;
  } finally {
    for (const p of both) await p.env.close();
  }
}

function modes(redis: ThrowawayRedis | undefined, pgOk: boolean): ModeSpec[] {
  const out: ModeSpec[] = [
    {
      name: 'embedded (SQLite + memory)',
      shared: false,
      async open() {
        const dir = mkdtempSync(join(tmpdir(), 'sb-bench-qs-'));
        const store = await openSqlite({ file: join(dir, 'db.sqlite3') });
        return {
          store,
          router: new MemoryRouter(),
          lastSeen: () => new MemoryLastSeen(),
          async close() {
            await store.close();
            removeDir(dir);
          },
        };
      },
    },
  ];
  if (redis && pgOk) {
    let n = 0;
    out.push({
      name: 'scaled (PostgreSQL + Redis)',
      shared: true,
      async open() {
        const db = await createTempDatabase('sbbenchqs');
        const store = await openPostgres({ url: db.url, poolSize: 4 });
        const prefix = `qs${n++}`;
        const router = new RedisRouter(redis.client, { prefix, hashTag: 'sb', snapshot: () => store.routingSnapshot() });
        // Loaded once, as on a server that has run a while: the first call of a script would compile it.
        for (const script of routingScripts().values()) await redis.client.script('LOAD', script.lua);
        return {
          store,
          router,
          redis: redis.client,
          lastSeen: (name: string) => new RedisLastSeen(redis.client, `${prefix}:{sb}:presence:${name}`),
          async close() {
            await store.close();
            await db.drop();
            await redis.client.flushall();
          },
        };
      },
    });
  }
  return out;
}

export async function run(): Promise<BenchResult> {
  const startedAt = new Date().toISOString();
  const t0 = performance.now();
  const pgSkip = await requirePostgres();
  const redis = await startRedis().catch(() => undefined);
  const notes: string[] = [];
  if (pgSkip || !redis) notes.push(`Scaled mode not measured: ${pgSkip || 'redis-server did not start'}.`);
  const metrics: Metric[] = [];
  const details: Record<string, unknown> = { sizes: SIZES, opsPerKind: OPS, positions: POSITIONS, sweeps: SWEEPS, sweepBatch: SWEEP_BATCH };
  try {
    for (const spec of modes(redis, !pgSkip)) {
      const [small, large] = await measureMode(spec);
      const perMode: Record<string, unknown> = { seedS: [round(small.seedS, 1), round(large.seedS, 1)] };
      for (const op of OP_NAMES) {
        const s = summarize(small.ms[op]);
        const l = summarize(large.ms[op]);
        const m = metric({ name: `${spec.name}: ${op} at 100k queued`, unit: 'ms', median: l.median, p99: l.p99, baseline: { name: 'at 1k', median: s.median, p99: s.p99 }, aim: '100k/1k <= 2x' });
        m.met = m.ratio !== undefined && m.ratio <= 2;
        metrics.push(m);
        perMode[op] = { at1k: { median: round(s.median, 4), p99: round(s.p99, 4) }, at100k: { median: round(l.median, 4), p99: round(l.p99, 4) } };
        if (spec.shared) {
          const per = (p: Prepared) => {
            const x = p.redisSums[op];
            return { usecPerOp: x.usec / x.ops, cpuUsecPerOp: x.cpuUsec / x.ops, callsPerOp: x.calls / x.ops };
          };
          const rs = per(small);
          const rl = per(large);
          const r = metric({ name: `${spec.name}: Redis usec/op, ${op}, 100k`, unit: 'us', median: rl.usecPerOp, baseline: { name: 'at 1k', median: rs.usecPerOp }, aim: '100k/1k <= 2x' });
          r.met = r.ratio !== undefined && r.ratio <= 2;
          metrics.push(r);
          (perMode[op] as Record<string, unknown>).redis = {
            at1k: { usecPerOp: round(rs.usecPerOp, 1), cpuUsecPerOp: round(rs.cpuUsecPerOp, 1), callsPerOp: round(rs.callsPerOp, 2) },
            at100k: { usecPerOp: round(rl.usecPerOp, 1), cpuUsecPerOp: round(rl.cpuUsecPerOp, 1), callsPerOp: round(rl.callsPerOp, 2) },
          };
        }
        log(NAME, `${spec.name} ${op}: 1k ${s.median.toFixed(3)} ms, 100k ${l.median.toFixed(3)} ms (x${(l.median / s.median).toFixed(2)})`);
      }
      const rs = summarize(small.reconcileMs);
      const rl = summarize(large.reconcileMs);
      metrics.push(metric({ name: `${spec.name}: reconciler pass at 100k queued (then 50x as long until the next)`, unit: 'ms', median: rl.median, baseline: { name: 'at 1k', median: rs.median } }));
      perMode.reconcilePass = { at1k: round(rs.median, 2), at100k: round(rl.median, 2) };
      log(NAME, `${spec.name} reconciler pass: 1k ${rs.median.toFixed(1)} ms, 100k ${rl.median.toFixed(1)} ms`);
      details[spec.name] = perMode;
    }
  } finally {
    await redis?.stop();
  }
  notes.push('Each operation is timed alone (one at a time) through the services, as one instance runs it; Redis figures come from a throwaway redis-server that serves nothing else.');
  return { bench: NAME, startedAt, durationS: (performance.now() - t0) / 1000, metrics, details, notes };
}
