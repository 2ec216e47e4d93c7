// 2000 customers connect at once: tokens and conversations exist beforehand (seeded), every socket is created
// in one tight loop, and each is timed from that moment to its first `assigned` or `queued` frame. Reps have
// room for half of them, so both answers are exercised. The real server is a child process (embedded SQLite).
// Baseline in the same run: a bare `ws` server that answers each connect with one small frame.
import { performance } from 'node:perf_hooks';
import { newDataDir, removeDir, startBare, startSwitchboard, type Probed } from './lib/procs.ts';
import { seed } from './lib/seed.ts';
import { ChatClient, closeAll } from './lib/ws.ts';
import { mapLimit, summarize, until, type Summary } from './lib/stats.ts';
import { log, metric, type BenchResult } from './lib/report.ts';
import { chatPath } from '../test/helpers/client.ts';
import { openSqlite } from '../src/store/open.ts';
import { TokenService } from '../src/auth/tokens.ts';
import { BENCH_SECRET } from './lib/procs.ts';
import { join } from 'node:path';

/** What one connect costs, step by step, measured alone (µs per call, sequential, on a fresh store). */
interface StepCosts {
  verifyFreshToken: number;
  getIdentity: number;
  getConversation: number;
  enqueueTxn: number;
  assignTxn: number;
  emptyTxn: number;
}

async function stepCosts(n: number): Promise<StepCosts> {
  const dir = newDataDir();
  try {
    const seeded = await seed(dir, { customers: n, repCapacities: [n], prefix: 's' });
    const store = await openSqlite({ file: join(dir, 'switchboard.sqlite3') });
    const tokens = new TokenService(BENCH_SECRET, 3600, 3600);
    const time = async (fn: (i: number) => Promise<unknown>) => {
      const t0 = performance.now();
      for (let i = 0; i < n; i++) await fn(i);
      return ((performance.now() - t0) * 1000) / n;
    };
    const c = seeded.customers;
    const repId = seeded.reps[0].profileId;
    const out: StepCosts = {
      verifyFreshToken: await time((i) => tokens.verifyAccess(c[i].access)),
      getIdentity: await time((i) => store.getIdentity(c[i].userId)),
      getConversation: await time((i) => store.getConversation(c[i].conversationId)),
      // The transaction alone (select, update, event, the queue_seq floor), at a place a router handed out.
      enqueueTxn: await time((i) => store.enqueue(c[i].conversationId, Date.now(), { queueSeq: i + 1, fromVersion: 0 })),
      assignTxn: await time((i) => store.assign(c[i].conversationId, repId, Date.now())),
      emptyTxn: await time(() => store.db.transaction().execute(async () => undefined)),
    };
    await store.close();
    return out;
  } finally {
    removeDir(dir);
  }
}

const NAME = 'connect';
const CUSTOMERS = 2000;
const WARMUP = 50;
const REPS = 21;
const REP_CAPACITY = 50;
const TIMEOUT_MS = 30_000;

interface Burst {
  firstFrame: Summary;
  answered: number;
  assigned: number;
  queued: number;
  closedEarly: number;
  loopMs: number;
  allMs: number;
  /** Frames the customers received until the last was answered (queued position updates included). */
  frames: number;
}

async function burst(target: Probed, targets: Array<{ path: string; token?: string; conversationId: string }>): Promise<Burst> {
  const t0 = performance.now();
  const clients = targets.map((t) => new ChatClient(target.wsUrl + t.path, t.token, t.conversationId));
  const loopMs = performance.now() - t0;
  await until(() => clients.every((c) => c.firstAt !== undefined || c.closeCode !== undefined), TIMEOUT_MS, 20);
  const answered = clients.filter((c) => c.firstAt !== undefined);
  const allMs = Math.max(...answered.map((c) => c.firstAt! - t0));
  const result: Burst = {
    firstFrame: summarize(answered.map((c) => c.firstAt! - t0)),
    answered: answered.length,
    assigned: answered.filter((c) => c.firstType === 'assigned').length,
    queued: answered.filter((c) => c.firstType === 'queued').length,
    closedEarly: clients.filter((c) => c.firstAt === undefined && c.closeCode !== undefined).length,
    loopMs,
    allMs,
    frames: clients.reduce((a, c) => a + c.frames, 0),
  };
  await closeAll(clients.map((c) => c.ws));
  return result;
}

export async function run(): Promise<BenchResult> {
  const startedAt = new Date().toISOString();
  const t0 = performance.now();

  const bare = await startBare('hello');
  let baseline: Burst;
  let bareCpuS: number;
  try {
    const b0 = await bare.probe();
    baseline = await burst(
      bare,
      Array.from({ length: CUSTOMERS }, (_, i) => ({ path: `/hello/${i}`, conversationId: String(i) })),
    );
    const b1 = await bare.probe();
    bareCpuS = (b1.cpuUserUs + b1.cpuSystemUs - b0.cpuUserUs - b0.cpuSystemUs) / 1e6;
  } finally {
    await bare.stop();
  }
  log(NAME, `bare ws: ${baseline.answered}/${CUSTOMERS} answered, median ${baseline.firstFrame.median.toFixed(0)} ms, p99 ${baseline.firstFrame.p99.toFixed(0)} ms, max ${baseline.allMs.toFixed(0)} ms`);

  const dataDir = newDataDir();
  const seeded = await seed(dataDir, { customers: WARMUP + CUSTOMERS, repCapacities: new Array(REPS).fill(REP_CAPACITY) }).catch((err) => {
    removeDir(dataDir);
    throw err;
  });
  log(NAME, `seeded ${seeded.customers.length} customers and ${REPS} reps in ${seeded.seconds.toFixed(1)} s`);
  const server = await startSwitchboard({ dataDir, env: { CUSTOMER_GRACE_MS: '600000' } });
  try {
    // Warm the server's code paths with a few connects (they take WARMUP of the capacity), then disconnect.
    const warm = await mapLimit(seeded.customers.slice(0, WARMUP), 10, async (c) => {
      const client = new ChatClient(server.wsUrl + chatPath(c.conversationId), c.access, c.conversationId);
      await client.first;
      return client;
    });
    await closeAll(warm.map((c) => c.ws));
    const before = await server.probe();
    const fromUs = process.hrtime.bigint() / 1000n;
    const ours = await burst(
      server,
      seeded.customers.slice(WARMUP).map((c) => ({ path: chatPath(c.conversationId), token: c.access, conversationId: c.conversationId })),
    );
    const toUs = process.hrtime.bigint() / 1000n;
    const after = await server.probe();
    const cpuS = (after.cpuUserUs + after.cpuSystemUs - before.cpuUserUs - before.cpuSystemUs) / 1e6;
    log(
      NAME,
      `switchboard: ${ours.answered}/${CUSTOMERS} answered (${ours.assigned} assigned, ${ours.queued} queued), median ${ours.firstFrame.median.toFixed(0)} ms, p99 ${ours.firstFrame.p99.toFixed(0)} ms, max ${ours.allMs.toFixed(0)} ms; server CPU ${cpuS.toFixed(1)} s (profile-top --window ${fromUs},${toUs})`,
    );
    const all = ours.answered === CUSTOMERS;
    await server.stop();
    const steps = await stepCosts(CUSTOMERS);
    log(
      NAME,
      `per connect: server CPU ${((cpuS * 1e6) / CUSTOMERS).toFixed(0)} µs (bare ws ${((bareCpuS * 1e6) / CUSTOMERS).toFixed(0)} µs), ${(ours.frames / CUSTOMERS).toFixed(2)} frames per customer; alone: fresh token ${steps.verifyFreshToken.toFixed(0)} µs, identity read ${steps.getIdentity.toFixed(0)} µs, conversation read ${steps.getConversation.toFixed(0)} µs (x2 per connect), enqueue transaction ${steps.enqueueTxn.toFixed(0)} µs (an empty transaction ${steps.emptyTxn.toFixed(0)} µs), assign transaction ${steps.assignTxn.toFixed(0)} µs`,
    );
    return {
      bench: NAME,
      startedAt,
      durationS: (performance.now() - t0) / 1000,
      metrics: [
        metric({
          name: `${CUSTOMERS} connect at once: time to first assigned/queued`,
          unit: 'ms',
          median: ours.firstFrame.median,
          p99: ours.firstFrame.p99,
          baseline: { name: 'bare ws, one frame', median: baseline.firstFrame.median, p99: baseline.firstFrame.p99 },
          ratioOf: 'p99',
        }),
        metric({
          name: `${CUSTOMERS} connect at once: until the last is answered`,
          unit: 'ms',
          median: ours.allMs,
          baseline: { name: 'bare ws, one frame', median: baseline.allMs },
          aim: 'all answered within 2 s',
          met: all && ours.allMs <= 2000,
        }),
        metric({ name: 'customers answered', unit: 'sockets', median: ours.answered, baseline: { name: 'opened', median: CUSTOMERS } }),
        metric({ name: 'server CPU per connect', unit: 'µs', median: (cpuS * 1e6) / CUSTOMERS, baseline: { name: 'bare ws, one frame', median: (bareCpuS * 1e6) / CUSTOMERS } }),
        metric({ name: 'frames per customer until the last is answered', unit: 'frames', median: ours.frames / CUSTOMERS, baseline: { name: 'bare ws', median: baseline.frames / CUSTOMERS } }),
        metric({ name: 'enqueue transaction alone (select, queue_seq, update, event)', unit: 'µs', median: steps.enqueueTxn, baseline: { name: 'an empty transaction', median: steps.emptyTxn } }),
        metric({ name: 'token check (fresh) + identity read + 2 conversation reads, alone', unit: 'µs', median: steps.verifyFreshToken + steps.getIdentity + 2 * steps.getConversation }),
      ],
      details: { customers: CUSTOMERS, capacity: REPS * REP_CAPACITY - WARMUP, switchboard: { ...ours, serverCpuS: cpuS }, bare: { ...baseline, serverCpuS: bareCpuS }, steps, seedS: seeded.seconds },
      notes: [
        `Sockets are created in one loop (${ours.loopMs.toFixed(0)} ms for ${CUSTOMERS} in the client) and timed from its start; ${ours.assigned} got assigned, ${ours.queued} queued${ours.closedEarly ? `, ${ours.closedEarly} closed unanswered` : ''}.`,
      ],
    };
  } finally {
    await server.stop();
  }
}
