// The persisted relay: 200 conversations, customer and rep both connected, every message stored before it is
// delivered. Two phases against the real server (a child process, embedded SQLite, WS_FRAMES_PER_S raised):
//   paced      each customer sends 10 msg/s for 10 s (2000 msg/s offered); send-to-rep latency, stored count;
//   saturation each customer keeps WINDOW messages in flight (the next one goes when the rep receives one);
//              messages delivered to the rep per second.
// The baseline, in the same run: a bare `ws` relay (no storage, no auth) doing the same fan-out to the same
// client code.
import { performance } from 'node:perf_hooks';
import SQLite from 'better-sqlite3';
import { startBare, startSwitchboard, type Probed } from './lib/procs.ts';
import { closeAll, openSocket, openWithFrame, settled, type WebSocket } from './lib/ws.ts';
import { mapLimit, sleep, summarize, until, type Summary } from './lib/stats.ts';
import { log, metric, type BenchResult } from './lib/report.ts';
import { chatPath, openConversation, registerCustomer, registerRep, type Account } from '../test/helpers/client.ts';

const NAME = 'relay';
const CONVERSATIONS = 200;
const REP_CAPACITY = 10;
const RATE_PER_CONV = 10;
const WARMUP_S = 1;
const PACED_S = 10;
const SATURATION_S = 8;
const WINDOW = Number(process.env.BENCH_RELAY_WINDOW ?? 4);
// A plain chat line (about 90 characters); the frame is typed with a client_id, as the web console sends it.
const TEXT = 'Hello, my order arrived yesterday but the blue kettle has a cracked lid. Can you help me?';

class Lane {
  sendAt: number[] = [];
  next = 0;
  received = 0;
  echoed = 0;
  errors = 0;
  outstanding = 0;
  constructor(
    readonly i: number,
    readonly customer: WebSocket,
    readonly rep: WebSocket,
  ) {}

  send(): void {
    const n = this.next++;
    this.sendAt[n] = performance.now();
    this.outstanding++;
    this.customer.send(`{"type":"message","text":"${TEXT}","client_id":"${this.i}.${n}"}`);
  }
}

interface Phase {
  onRep(lane: Lane, n: number, now: number): void;
}

const idle: Phase = { onRep: () => undefined };

function wire(lanes: Lane[], current: () => Phase): void {
  for (const lane of lanes) {
    lane.rep.on('message', (data) => {
      const f = JSON.parse(data.toString());
      if (f.type !== 'message' || typeof f.client_id !== 'string') return;
      const n = Number(f.client_id.slice(f.client_id.indexOf('.') + 1));
      lane.received++;
      lane.outstanding--;
      current().onRep(lane, n, performance.now());
    });
    lane.customer.on('message', (data) => {
      const s = data.toString();
      if (s.startsWith('{"type":"message"')) lane.echoed++;
      else if (s.startsWith('{"type":"error"')) lane.errors++;
    });
  }
}

interface PacedResult {
  latency: Summary;
  sent: number;
  delivered: number;
  offeredPerS: number;
}

async function paced(lanes: Lane[], setPhase: (p: Phase) => void): Promise<PacedResult> {
  const latencies: number[] = [];
  const start = performance.now();
  const measureFrom = start + WARMUP_S * 1000;
  const end = measureFrom + PACED_S * 1000;
  const periodMs = 1000 / RATE_PER_CONV;
  const sentBefore = lanes.reduce((a, l) => a + l.next, 0);
  const receivedBefore = lanes.reduce((a, l) => a + l.received, 0);
  let measuredSent = 0;
  setPhase({
    onRep(lane, n, now) {
      const t = lane.sendAt[n];
      if (t >= measureFrom && t < end) latencies.push(now - t);
    },
  });
  const sentInPhase = new Array<number>(lanes.length).fill(0);
  // One scheduler for all conversations: each has its own phase offset inside the 100 ms period.
  for (let now = performance.now(); now < end; now = performance.now()) {
    for (const lane of lanes) {
      const offset = (lane.i / lanes.length) * periodMs;
      const due = Math.floor((now - start - offset) / periodMs) + 1;
      while (sentInPhase[lane.i] < due) {
        if (now >= measureFrom) measuredSent++;
        sentInPhase[lane.i]++;
        lane.send();
      }
    }
    await sleep(1);
  }
  const sent = lanes.reduce((a, l) => a + l.next, 0) - sentBefore;
  await until(() => lanes.reduce((a, l) => a + l.received, 0) - receivedBefore >= sent, 10_000);
  const delivered = lanes.reduce((a, l) => a + l.received, 0) - receivedBefore;
  setPhase(idle);
  return { latency: summarize(latencies), sent, delivered, offeredPerS: measuredSent / PACED_S };
}

interface SaturationResult {
  perSecond: number[];
  medianPerS: number;
  latency: Summary;
  sent: number;
  delivered: number;
  serverCpuPct?: number;
  clientElu: number;
}

async function saturate(lanes: Lane[], setPhase: (p: Phase) => void, target?: Probed): Promise<SaturationResult> {
  const start = performance.now();
  const end = start + SATURATION_S * 1000;
  const buckets = new Array<number>(SATURATION_S + 1).fill(0);
  const latencies: number[] = [];
  let running = true;
  const sentBefore = lanes.reduce((a, l) => a + l.next, 0);
  const receivedBefore = lanes.reduce((a, l) => a + l.received, 0);
  const cpu0 = target ? await target.probe() : undefined;
  const elu0 = performance.eventLoopUtilization();
  setPhase({
    onRep(lane, n, now) {
      latencies.push(now - lane.sendAt[n]);
      const b = Math.floor((now - start) / 1000);
      if (b < buckets.length) buckets[b]++;
      if (running && now < end) lane.send();
    },
  });
  for (const lane of lanes) for (let k = 0; k < WINDOW; k++) lane.send();
  await sleep(SATURATION_S * 1000);
  running = false;
  const elu = performance.eventLoopUtilization(elu0).utilization;
  const cpu1 = target ? await target.probe() : undefined;
  const wallMs = performance.now() - start;
  const sent = lanes.reduce((a, l) => a + l.next, 0) - sentBefore;
  await until(() => lanes.reduce((a, l) => a + l.received, 0) - receivedBefore >= sent, 10_000);
  setPhase(idle);
  // The first second ramps up and the last bucket is partial: the median is over whole seconds 1..S-1.
  const whole = buckets.slice(1, SATURATION_S);
  const serverCpuPct =
    cpu0 && cpu1 ? (100 * (cpu1.cpuUserUs + cpu1.cpuSystemUs - cpu0.cpuUserUs - cpu0.cpuSystemUs)) / 1000 / wallMs : undefined;
  return {
    perSecond: buckets,
    medianPerS: summarize(whole).median,
    latency: summarize(latencies),
    sent,
    delivered: lanes.reduce((a, l) => a + l.received, 0) - receivedBefore,
    serverCpuPct,
    clientElu: elu,
  };
}

async function workload(label: string, lanes: Lane[], target: Probed) {
  let phase: Phase = idle;
  wire(lanes, () => phase);
  const setPhase = (p: Phase) => (phase = p);
  log(NAME, `${label}: paced ${CONVERSATIONS} x ${RATE_PER_CONV} msg/s for ${WARMUP_S}+${PACED_S} s`);
  const p = await paced(lanes, setPhase);
  log(NAME, `${label}: latency median ${p.latency.median.toFixed(2)} ms, p99 ${p.latency.p99.toFixed(2)} ms, ${p.delivered}/${p.sent} delivered`);
  await sleep(500);
  log(NAME, `${label}: saturation, window ${WINDOW} per socket, ${SATURATION_S} s`);
  const s = await saturate(lanes, setPhase, target);
  log(NAME, `${label}: ${Math.round(s.medianPerS)} msg/s (median of 1 s windows), latency p99 ${s.latency.p99.toFixed(1)} ms, server CPU ${s.serverCpuPct?.toFixed(0)}%, client ELU ${(s.clientElu * 100).toFixed(0)}%`);
  const errors = lanes.reduce((a, l) => a + l.errors, 0);
  return { paced: p, saturation: s, errors };
}

async function bareRun() {
  const bare = await startBare('relay');
  try {
    const lanes = await mapLimit(
      Array.from({ length: CONVERSATIONS }, (_, i) => i),
      50,
      async (i) => {
        const customer = await openSocket(`${bare.wsUrl}/room/${i}`);
        const rep = await openSocket(`${bare.wsUrl}/room/${i}`);
        return new Lane(i, customer, rep);
      },
    );
    const out = await workload('bare ws', lanes, bare);
    await closeAll(lanes.flatMap((l) => [l.customer, l.rep]));
    return out;
  } finally {
    await bare.stop();
  }
}

async function serverRun() {
  const server = await startSwitchboard({ env: { WS_FRAMES_PER_S: '100000' } });
  try {
    const reps = CONVERSATIONS / REP_CAPACITY;
    log(NAME, `registering ${CONVERSATIONS} customers and ${reps} reps over HTTP (register + login each)`);
    const t0 = performance.now();
    const [repAccounts, customers] = await Promise.all([
      Promise.all(Array.from({ length: reps }, () => registerRep(server.url, REP_CAPACITY))),
      Promise.all(Array.from({ length: CONVERSATIONS }, () => registerCustomer(server.url))),
    ]);
    const registrationS = (performance.now() - t0) / 1000;
    log(NAME, `registered ${CONVERSATIONS + reps} users in ${registrationS.toFixed(1)} s`);
    const repByProfile = new Map<number, Account>(repAccounts.map((r) => [r.id, r]));
    const convs = await mapLimit(customers, 50, (c) => openConversation(server.url, c));
    const lanes = await mapLimit(customers, 50, async (c, i) => {
      const { ws: customer, frame: assigned } = await openWithFrame(server.wsUrl + chatPath(convs[i]), c.access, (f) => f.type === 'assigned' || f.type === 'queued');
      if (assigned.type !== 'assigned') throw new Error(`conversation ${i} was queued, not assigned`);
      const rep = repByProfile.get(assigned.rep.id);
      if (!rep) throw new Error(`unknown rep ${assigned.rep.id}`);
      const repSocket = await openSocket(server.wsUrl + chatPath(convs[i]), rep.access);
      await Promise.all([settled(customer), settled(repSocket)]);
      return new Lane(i, customer, repSocket);
    });
    const out = await workload('switchboard', lanes, server);
    const db = new SQLite(server.dbFile, { readonly: true, fileMustExist: true });
    const stored = Number((db.prepare('select count(*) as n from messages').get() as { n: number }).n);
    db.close();
    const sentTotal = lanes.reduce((a, l) => a + l.next, 0);
    await closeAll(lanes.flatMap((l) => [l.customer, l.rep]));
    return { ...out, registrationS, registeredUsers: CONVERSATIONS + reps, stored, sentTotal };
  } finally {
    await server.stop();
  }
}

export async function run(): Promise<BenchResult> {
  const startedAt = new Date().toISOString();
  const t0 = performance.now();
  const bare = await bareRun();
  if (process.env.BENCH_RELAY_BARE_ONLY) return { bench: NAME, startedAt, durationS: 0, metrics: [], details: { bare }, notes: [] };
  const ours = await serverRun();
  const offered = CONVERSATIONS * RATE_PER_CONV;
  const metrics = [
    metric({
      name: `send->rep latency, ${CONVERSATIONS} conv x ${RATE_PER_CONV} msg/s`,
      unit: 'ms',
      median: ours.paced.latency.median,
      p99: ours.paced.latency.p99,
      baseline: { name: 'bare ws', median: bare.paced.latency.median, p99: bare.paced.latency.p99 },
      ratioOf: 'p99',
      aim: 'p99 <= 25 ms',
      met: ours.paced.latency.p99 <= 25,
    }),
    metric({
      name: 'messages stored / sent (all phases)',
      unit: 'msgs',
      median: ours.stored,
      baseline: { name: 'sent', median: ours.sentTotal },
      aim: 'every message stored',
      met: ours.stored === ours.sentTotal,
    }),
    metric({
      name: `persisted relay throughput (window ${WINDOW}/socket)`,
      unit: 'msg/s',
      median: ours.saturation.medianPerS,
      baseline: { name: 'bare ws', median: bare.saturation.medianPerS },
      aim: '>= 0.5 x bare ws',
      met: ours.saturation.medianPerS >= 0.5 * bare.saturation.medianPerS,
    }),
    metric({
      name: 'latency at saturation',
      unit: 'ms',
      median: ours.saturation.latency.median,
      p99: ours.saturation.latency.p99,
      baseline: { name: 'bare ws', median: bare.saturation.latency.median, p99: bare.saturation.latency.p99 },
    }),
    metric({
      name: 'HTTP registration (register + login)',
      unit: 'users/s',
      median: ours.registeredUsers / ours.registrationS,
    }),
  ];
  return {
    bench: NAME,
    startedAt,
    durationS: (performance.now() - t0) / 1000,
    metrics,
    details: {
      conversations: CONVERSATIONS,
      offeredMsgPerS: offered,
      measuredOfferedMsgPerS: ours.paced.offeredPerS,
      pacedSeconds: PACED_S,
      window: WINDOW,
      frame: 'typed {"type":"message","text":<90 chars>,"client_id":...}',
      switchboard: {
        paced: ours.paced,
        saturation: ours.saturation,
        errorFrames: ours.errors,
        stored: ours.stored,
        sent: ours.sentTotal,
        registrationS: ours.registrationS,
      },
      bare: { paced: bare.paced, saturation: bare.saturation },
    },
    notes: [
      'msg/s counts each message once, when the rep socket receives it; every message also goes back to the sender socket (2 frames out per message).',
      `Server CPU at saturation: ${ours.saturation.serverCpuPct?.toFixed(0)}% (bare ws: ${bare.saturation.serverCpuPct?.toFixed(0)}%); client event-loop utilization ${(ours.saturation.clientElu * 100).toFixed(0)}% (bare run: ${(bare.saturation.clientElu * 100).toFixed(0)}%).`,
    ],
  };
}
