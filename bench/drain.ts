// Queue drain: how fast queued customers are served once capacity appears. The real server runs as a child
// process on a seeded database; every customer is connected (its socket enqueued it and got `queued`), and
// every rep has its /ws/agent/ open, as in production.
//   capacity raise  1000 customers queued against 10 reps of capacity 0; the reps PATCH max_capacity to 100
//                   at once; customers served per second until the last `assigned` frame (3 rounds).
//   close churn     1000 customers queued; 10 reps raise capacity to 10 and close each chat as soon as it is
//                   assigned (POST /close/), so that every close hands the slot to the head of the queue.
//   original flow   1000 customers queued; 50 reps raise capacity to 1 and work the original client's way:
//                   open the chat's socket, send {"message", "close_chat": true}, follow `redirect_id` to the
//                   next chat (or wait for the next assignment when none comes).
// Baseline in the same run: the store's conditional assignment (store.assign, DESIGN R1) alone, in a loop,
// on a fresh SQLite database: the floor that the transaction itself sets.
import { performance } from 'node:perf_hooks';
import SQLite from 'better-sqlite3';
import { join } from 'node:path';
import { newDataDir, removeDir, startSwitchboard, type BenchServer } from './lib/procs.ts';
import { seed, type SeededCustomer, type SeededRep } from './lib/seed.ts';
import { ChatClient, closeAll, keepAliveAgent, newConnectionProbe, openWithFrame, request as http, WebSocket } from './lib/ws.ts';
import { mapLimit, summarize, until } from './lib/stats.ts';

/** Monotonic µs, the clock of V8's CPU profiles: `profile-top.ts --window` reads one phase of a profiled run. */
const monoUs = () => process.hrtime.bigint() / 1000n;

/** The server's CPU time (user + system), µs: per customer served, it is the work a round cost, whatever the machine's load. */
const serverCpuUs = async (server: BenchServer) => {
  const p = await server.probe();
  return p.cpuUserUs + p.cpuSystemUs;
};
import { log, metric, type BenchResult } from './lib/report.ts';
import { chatPath } from '../test/helpers/client.ts';
import { openSqlite } from '../src/store/open.ts';

const NAME = 'drain';
const PER_ROUND = 1000;
const RAISE_ROUNDS = 3;
const REPS_PER_ROUND = 10;
const CONNECT_CONCURRENCY = 100;
const CHURN_CAPACITY = 10;
const WARMUP_CUSTOMERS = 200;
const WARMUP_REPS = 2;
const BROWSER_CONNECTIONS = 6;
const ORIGINAL_REPS = 50;

interface Round {
  customers: SeededCustomer[];
  reps: SeededRep[];
}

async function connectQueued(server: BenchServer, round: Round): Promise<{ clients: ChatClient[]; agents: WebSocket[] }> {
  const agents = await Promise.all(round.reps.map(async (r) => (await openWithFrame(`${server.wsUrl}/ws/agent/`, r.access, (f) => f.type === 'queue')).ws));
  const clients = await mapLimit(round.customers, CONNECT_CONCURRENCY, async (c) => {
    const client = new ChatClient(server.wsUrl + chatPath(c.conversationId), c.access, c.conversationId);
    await client.first;
    if (client.firstType !== 'queued') throw new Error('a customer was assigned before any capacity was raised');
    return client;
  });
  return { clients, agents };
}

/** Assignment commits of these conversations, from the server's own record (conversation_events). */
function serverSideRate(server: BenchServer, conversations: string[]): { perS: number; spanMs: number; count: number } {
  const db = new SQLite(server.dbFile, { readonly: true, fileMustExist: true });
  try {
    db.exec('create temp table bench_ids (id text primary key)');
    const ins = db.prepare('insert into bench_ids values (?)');
    db.transaction(() => conversations.forEach((id) => ins.run(id)))();
    const row = db
      .prepare("select count(*) as n, min(at) as first, max(at) as last from conversation_events where kind = 'assigned' and conversation_id in (select id from bench_ids)")
      .get() as { n: number; first: number; last: number };
    const spanMs = Math.max(1, row.last - row.first);
    return { perS: ((row.n - 1) / spanMs) * 1000, spanMs, count: row.n };
  } finally {
    db.close();
  }
}

async function raiseRound(server: BenchServer, round: Round, index: number) {
  const { clients, agents } = await connectQueued(server, round);
  const t0 = performance.now();
  const patches = await Promise.all(
    round.reps.map((r) => http(server.url, 'PATCH', '/api/reps/me/', { token: r.access, body: { max_capacity: Math.ceil(round.customers.length / round.reps.length) } })),
  );
  if (patches.some((p) => p.status !== 200)) throw new Error(`PATCH failed: ${patches.map((p) => p.status).join(',')}`);
  const patchedAt = performance.now();
  const all = await until(() => clients.every((c) => c.assignedAt !== undefined), 60_000);
  if (!all) throw new Error(`only ${clients.filter((c) => c.assignedAt !== undefined).length}/${clients.length} assigned within 60 s`);
  const last = Math.max(...clients.map((c) => c.assignedAt!));
  const rate = (clients.length / (last - t0)) * 1000;
  const server_ = serverSideRate(server, round.customers.map((c) => c.conversationId));
  log(NAME, `raise ${index < 0 ? 'warm-up round' : `round ${index + 1}`}: ${clients.length} served in ${(last - t0).toFixed(0)} ms = ${rate.toFixed(0)}/s (PATCHes answered after ${(patchedAt - t0).toFixed(0)} ms; server commits ${server_.perS.toFixed(0)}/s)`);
  await closeAll([...clients.map((c) => c.ws), ...agents]);
  return { rate, ms: last - t0, patchMs: patchedAt - t0, serverSide: server_ };
}

async function churnRound(server: BenchServer, round: Round) {
  const { clients, agents } = await connectQueued(server, round);
  // Each rep is a browser: its own keep-alive pool of 6 connections, opened before the run, so that the
  // churn measures the server, not connection set-up (see the new-connection probe for that).
  const pools = new Map(round.reps.map((r) => [r.profileId, { token: r.access, agent: keepAliveAgent(BROWSER_CONNECTIONS) }]));
  await Promise.all(
    [...pools.values()].flatMap((p) => Array.from({ length: BROWSER_CONNECTIONS }, () => http(server.url, 'GET', '/api/reps/me/', { token: p.token, agent: p.agent }))),
  );
  const closeMs: number[] = [];
  let closeErrors = 0;
  const closing: Promise<void>[] = [];
  const onAssigned = (c: ChatClient) => {
    const pool = pools.get(c.repId!)!;
    const s = performance.now();
    closing.push(
      http(server.url, 'POST', `/api/conversations/${c.conversationId}/close/`, { token: pool.token, agent: pool.agent }).then(
        (r) => {
          if (r.status !== 200) closeErrors++;
          closeMs.push(performance.now() - s);
        },
        () => void closeErrors++,
      ),
    );
  };
  for (const c of clients) c.onAssigned = onAssigned;
  let running = true;
  const cpu0 = await serverCpuUs(server);
  const t0 = performance.now();
  const fromUs = monoUs();
  const probe = newConnectionProbe(server.url, 50, () => running);
  await Promise.all(round.reps.map((r) => http(server.url, 'PATCH', '/api/reps/me/', { token: r.access, body: { max_capacity: CHURN_CAPACITY }, agent: pools.get(r.profileId)!.agent })));
  const all = await until(() => clients.every((c) => c.assignedAt !== undefined), 90_000);
  const toUs = monoUs();
  const cpuPerServedUs = ((await serverCpuUs(server)) - cpu0) / clients.length;
  running = false;
  if (!all) throw new Error(`churn: only ${clients.filter((c) => c.assignedAt !== undefined).length}/${clients.length} assigned within 90 s`);
  const last = Math.max(...clients.map((c) => c.assignedAt!));
  const rate = (clients.length / (last - t0)) * 1000;
  await Promise.all(closing);
  const newConn = summarize(await probe);
  for (const p of pools.values()) p.agent.destroy();
  const lat = summarize(closeMs);
  const server_ = serverSideRate(server, round.customers.map((c) => c.conversationId));
  log(
    NAME,
    `close churn: ${clients.length} served in ${(last - t0).toFixed(0)} ms = ${rate.toFixed(0)}/s; close request median ${lat.median.toFixed(1)} ms, p99 ${lat.p99.toFixed(1)} ms, ${closeErrors} errors; new-connection /healthz median ${newConn.median.toFixed(0)} ms, p99 ${newConn.p99.toFixed(0)} ms; server CPU ${cpuPerServedUs.toFixed(0)} µs per customer served (--window ${fromUs},${toUs})`,
  );
  // The churn's reps end with free slots: take them back so that a later round's customers queue.
  await Promise.all(round.reps.map((r) => http(server.url, 'PATCH', '/api/reps/me/', { token: r.access, body: { max_capacity: 0 } })));
  await closeAll([...clients.map((c) => c.ws), ...agents]);
  return { rate, ms: last - t0, closeLatency: lat, closeErrors, serverSide: server_, newConnection: newConn, cpuPerServedUs };
}

/** One rep's chat, closed the original client's way; resolves with the redirect_id when one came. */
function closeTheOriginalWay(server: BenchServer, rep: SeededRep, conversationId: string): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(server.wsUrl + chatPath(conversationId), { headers: { authorization: `Bearer ${rep.access}` } });
    let redirect: string | undefined;
    let closed = false;
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`close_chat of ${conversationId}: no close within 30 s`));
    }, 30_000);
    ws.on('open', () => ws.send(JSON.stringify({ message: 'bye', close_chat: true })));
    ws.on('message', (data) => {
      const s = data.toString();
      if (s.startsWith('{"type":"redirect"')) redirect = JSON.parse(s).redirect_id;
      else if (s.startsWith('{"type":"closed"')) closed = true;
      else if (s.startsWith('{"type":"error"')) reject(new Error(`close_chat refused: ${s}`));
    });
    ws.on('error', () => undefined);
    ws.on('close', () => {
      clearTimeout(timer);
      if (closed) resolve(redirect);
      else reject(new Error(`chat socket of ${conversationId} closed before its closed frame`));
    });
  });
}

async function originalFlowRound(server: BenchServer, round: Round) {
  const { clients, agents } = await connectQueued(server, round);
  const inbox = new Map<number, string[]>(round.reps.map((r) => [r.profileId, []]));
  const handled = new Set<string>();
  const wake = new Map<number, () => void>();
  for (const c of clients) {
    c.onAssigned = (cl) => {
      inbox.get(cl.repId!)?.push(cl.conversationId);
      wake.get(cl.repId!)?.();
    };
  }
  let redirects = 0;
  const cycleMs: number[] = [];
  const repLoop = async (rep: SeededRep) => {
    const mine = inbox.get(rep.profileId)!;
    let next: string | undefined;
    while (handled.size < clients.length) {
      while (next === undefined && mine.length > 0) {
        const id = mine.shift()!;
        if (!handled.has(id)) next = id;
      }
      if (next === undefined) {
        // No redirect and nothing assigned yet: wait for the next assignment (or the end of the round).
        await new Promise<void>((resolve) => {
          wake.set(rep.profileId, resolve);
          setTimeout(resolve, 200);
        });
        continue;
      }
      handled.add(next);
      const s = performance.now();
      const redirect = await closeTheOriginalWay(server, rep, next);
      cycleMs.push(performance.now() - s);
      next = undefined;
      if (redirect !== undefined && !handled.has(redirect)) {
        redirects++;
        next = redirect;
      }
    }
  };
  const cpu0 = await serverCpuUs(server);
  const t0 = performance.now();
  const fromUs = monoUs();
  await Promise.all(round.reps.map((r) => http(server.url, 'PATCH', '/api/reps/me/', { token: r.access, body: { max_capacity: 1 } })));
  const loops = Promise.all(round.reps.map(repLoop));
  const all = await until(() => clients.every((c) => c.assignedAt !== undefined), 90_000);
  const toUs = monoUs();
  const cpuPerServedUs = ((await serverCpuUs(server)) - cpu0) / clients.length;
  if (!all) throw new Error(`original flow: only ${clients.filter((c) => c.assignedAt !== undefined).length}/${clients.length} assigned within 90 s`);
  const last = Math.max(...clients.map((c) => c.assignedAt!));
  const rate = (clients.length / (last - t0)) * 1000;
  await loops;
  const cycle = summarize(cycleMs);
  const server_ = serverSideRate(server, round.customers.map((c) => c.conversationId));
  log(
    NAME,
    `original flow: ${clients.length} served in ${(last - t0).toFixed(0)} ms = ${rate.toFixed(0)}/s by ${round.reps.length} reps; ${redirects} redirects followed; open+close_chat cycle median ${cycle.median.toFixed(1)} ms, p99 ${cycle.p99.toFixed(1)} ms; server CPU ${cpuPerServedUs.toFixed(0)} µs per customer served (--window ${fromUs},${toUs})`,
  );
  await closeAll([...clients.map((c) => c.ws), ...agents]);
  return { rate, ms: last - t0, redirects, cycle, serverSide: server_, cpuPerServedUs };
}

/** store.assign alone: N queued conversations, one rep with room for all, assigned one by one. */
async function storeBaseline(n: number): Promise<number> {
  const dir = newDataDir();
  try {
    const store = await openSqlite({ file: join(dir, 'switchboard.sqlite3') });
    const { profile: customer } = await store.createCustomer({ username: 'c', email: '', firstName: '', lastName: '', passwordHash: 'x' }, 1);
    const { profile: rep } = await store.createRep({ username: 'r', email: '', firstName: '', lastName: '', passwordHash: 'x' }, n);
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const c = await store.createConversation(customer.id, Date.now());
      await store.enqueue(c.id, Date.now());
      ids.push(c.id);
    }
    const t0 = performance.now();
    for (const id of ids) {
      const r = await store.assign(id, rep.id, Date.now());
      if (!r.ok) throw new Error(`store.assign refused: ${r.reason}`);
    }
    const rate = (n / (performance.now() - t0)) * 1000;
    await store.close();
    return rate;
  } finally {
    removeDir(dir);
  }
}

/**
 * The close and the next assignment at the store alone: N reps of capacity 1 each hold a chat and a queue
 * waits; each close hands its slot to the head, either as two transactions (closeConversation, then
 * assign: before closeAndAssign existed) or as one (closeAndAssign). Alternating rounds, fresh files.
 */
export async function closeAndAssignAlone(n: number, oneTxn: boolean): Promise<number> {
  const dir = newDataDir();
  try {
    const store = await openSqlite({ file: join(dir, 'switchboard.sqlite3') });
    const { profile: customer } = await store.createCustomer({ username: 'c', email: '', firstName: '', lastName: '', passwordHash: 'x' }, 1);
    const { profile: rep } = await store.createRep({ username: 'r', email: '', firstName: '', lastName: '', passwordHash: 'x' }, 1);
    const ids: string[] = [];
    for (let i = 0; i <= n; i++) {
      const c = await store.createConversation(customer.id, Date.now());
      await store.enqueue(c.id, Date.now());
      ids.push(c.id);
    }
    if (!(await store.assign(ids[0], rep.id, Date.now())).ok) throw new Error('first assignment refused');
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      const next = { conversationId: ids[i + 1], repId: rep.id };
      if (oneTxn) {
        const out = await store.closeAndAssign(ids[i], 'rep', Date.now(), rep.id, async () => [next]);
        if (!out?.assigned[0]?.result.ok) throw new Error('closeAndAssign refused');
      } else {
        if (!(await store.closeConversation(ids[i], 'rep', Date.now(), rep.id))) throw new Error('close refused');
        if (!(await store.assign(next.conversationId, rep.id, Date.now())).ok) throw new Error('assign refused');
      }
    }
    const rate = (n / (performance.now() - t0)) * 1000;
    await store.close();
    return rate;
  } finally {
    removeDir(dir);
  }
}

export async function run(): Promise<BenchResult> {
  const startedAt = new Date().toISOString();
  const t0 = performance.now();
  const baseline = await storeBaseline(PER_ROUND);
  log(NAME, `store.assign alone: ${baseline.toFixed(0)}/s`);
  const twoTxn: number[] = [];
  const oneTxn: number[] = [];
  for (let i = 0; i < 3; i++) {
    twoTxn.push(await closeAndAssignAlone(PER_ROUND, false));
    oneTxn.push(await closeAndAssignAlone(PER_ROUND, true));
  }
  const closeTwo = summarize(twoTxn).median;
  const closeOne = summarize(oneTxn).median;
  log(NAME, `store alone, close + next assignment: two transactions ${twoTxn.map((x) => x.toFixed(0)).join(', ')}/s; one (closeAndAssign) ${oneTxn.map((x) => x.toFixed(0)).join(', ')}/s`);

  const rounds = RAISE_ROUNDS + 1;
  const dataDir = newDataDir();
  const seeded = await seed(dataDir, {
    customers: WARMUP_CUSTOMERS + (rounds + 1) * PER_ROUND,
    repCapacities: new Array(WARMUP_REPS + rounds * REPS_PER_ROUND + ORIGINAL_REPS).fill(0),
  }).catch((err) => {
    removeDir(dataDir);
    throw err;
  });
  log(NAME, `seeded ${seeded.customers.length} customers and ${seeded.reps.length} reps in ${seeded.seconds.toFixed(1)} s`);
  const round = (i: number): Round => ({
    customers: seeded.customers.slice(WARMUP_CUSTOMERS + i * PER_ROUND, WARMUP_CUSTOMERS + (i + 1) * PER_ROUND),
    reps: seeded.reps.slice(WARMUP_REPS + i * REPS_PER_ROUND, WARMUP_REPS + (i + 1) * REPS_PER_ROUND),
  });
  const server = await startSwitchboard({ dataDir, env: { CUSTOMER_GRACE_MS: '600000', REP_GRACE_MS: '600000' } });
  try {
    // A small unmeasured round first, so that the measured ones run on warm (JIT-compiled) code.
    await raiseRound(server, { customers: seeded.customers.slice(0, WARMUP_CUSTOMERS), reps: seeded.reps.slice(0, WARMUP_REPS) }, -1);
    const raises = [];
    for (let i = 0; i < RAISE_ROUNDS; i++) raises.push(await raiseRound(server, round(i), i));
    const churn = await churnRound(server, round(RAISE_ROUNDS));
    const originalStart = WARMUP_REPS + rounds * REPS_PER_ROUND;
    const original = await originalFlowRound(server, {
      customers: seeded.customers.slice(WARMUP_CUSTOMERS + rounds * PER_ROUND, WARMUP_CUSTOMERS + (rounds + 1) * PER_ROUND),
      reps: seeded.reps.slice(originalStart, originalStart + ORIGINAL_REPS),
    });
    const raise = summarize(raises.map((r) => r.rate));
    const raiseServer = summarize(raises.map((r) => r.serverSide.perS));
    return {
      bench: NAME,
      startedAt,
      durationS: (performance.now() - t0) / 1000,
      metrics: [
        metric({
          name: `drain after capacity raise (${PER_ROUND} queued, ${REPS_PER_ROUND} reps, median of ${RAISE_ROUNDS})`,
          unit: 'customers/s',
          median: raise.median,
          p99: undefined,
          baseline: { name: 'store.assign alone', median: baseline },
          aim: '>= 1000 customers/s',
          met: raise.median >= 1000,
        }),
        metric({ name: 'same, from the server record (assignment commits)', unit: 'customers/s', median: raiseServer.median, baseline: { name: 'store.assign alone', median: baseline } }),
        metric({
          name: `drain by close churn (${PER_ROUND} queued, ${REPS_PER_ROUND} reps x ${CHURN_CAPACITY})`,
          unit: 'customers/s',
          median: churn.rate,
          baseline: { name: 'store.assign alone', median: baseline },
          aim: '>= 1000 customers/s',
          met: churn.rate >= 1000,
        }),
        metric({
          name: 'store alone: close + next assignment in one transaction (closeAndAssign)',
          unit: 'closes/s',
          median: closeOne,
          baseline: { name: 'closeConversation, then assign', median: closeTwo },
        }),
        metric({
          name: `drain by the original's flow (${PER_ROUND} queued, ${ORIGINAL_REPS} reps x 1, close_chat + redirect_id)`,
          unit: 'customers/s',
          median: original.rate,
          baseline: { name: 'store.assign alone', median: baseline },
          aim: '>= 1000 customers/s',
          met: original.rate >= 1000,
        }),
        metric({ name: "original flow: a rep's chat socket opened, close_chat sent, closed", unit: 'ms', median: original.cycle.median, p99: original.cycle.p99 }),
        metric({ name: 'server CPU per customer served, close churn', unit: 'µs', median: churn.cpuPerServedUs }),
        metric({ name: "server CPU per customer served, the original's flow", unit: 'µs', median: original.cpuPerServedUs }),
        metric({ name: 'POST /close/ during churn (keep-alive)', unit: 'ms', median: churn.closeLatency.median, p99: churn.closeLatency.p99 }),
        metric({ name: 'GET /healthz on a new connection during churn', unit: 'ms', median: churn.newConnection.median, p99: churn.newConnection.p99 }),
      ],
      details: { perRound: PER_ROUND, repsPerRound: REPS_PER_ROUND, raises, churn, original, storeAssignPerS: baseline, closeAlone: { twoTxn, oneTxn }, seedS: seeded.seconds },
      notes: [
        `Capacity-raise rounds: ${raises.map((r) => `${r.rate.toFixed(0)}/s`).join(', ')}; "served" = the customer's socket got its \`assigned\` frame, timed from the first PATCH.`,
      ],
    };
  } finally {
    await server.stop();
  }
}
