// The decision input for cross-instance fan-out: Redis pub/sub against Redis Streams (XADD + blocking XREAD),
// on a throwaway redis-server. One publisher, three subscribers (one per would-be instance), each on its own
// connection; the payload is a chat-message bus event of about 300 bytes, as RedisBus publishes it.
//   latency    paced at 2000 events/s (the relay aim's offered load): publish-to-receive, every subscriber;
//   throughput the publisher keeps WINDOW commands in flight; events/s received by the slowest subscriber.
// Pub/sub is the baseline of Streams in the same run. Stream entries are trimmed with MAXLEN ~ 100000.
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { startRedis } from '../test/helpers/processes.ts';
import { sleep, summarize, until, type Summary } from './lib/stats.ts';
import { log, metric, type BenchResult } from './lib/report.ts';

const NAME = 'fanout';
const SUBSCRIBERS = 3;
const PACED_RATE = 2000;
const PACED_S = 5;
const SATURATION_S = 4;
const WINDOW = 256;
const ROUNDS = 3;
const CHANNEL = 'sb:{sb}:events';
const STREAM = 'sb:{sb}:stream';

/** A bus event as RedisBus publishes it; `t` carries the send time (performance.now()) and is padded to ~300 bytes. */
function payload(n: number, t: number): string {
  return JSON.stringify({
    kind: 'message',
    conversationId: '01a2182c-83fd-703e-9b94-dcb350103b57',
    t,
    message: {
      id: 100000 + n,
      conversationId: '01a2182c-83fd-703e-9b94-dcb350103b57',
      authorId: 4242,
      username: 'customer_4242',
      text: 'Hello, my order arrived yesterday but the blue kettle has a cracked lid. Can you help?',
      seq: n,
      clientId: `c.${n}`,
      timestamp: 1795700000000 + n,
    },
  });
}

const sendTime = (s: string) => Number(s.slice(s.indexOf('"t":') + 4, s.indexOf(',', s.indexOf('"t":'))));

interface Transport {
  name: string;
  start(onEvent: (sub: number, raw: string) => void): Promise<void>;
  publish(raw: string): Promise<unknown>;
  stop(): Promise<void>;
}

function pubsub(url: string): Transport {
  const pub = new Redis(url);
  const subs = Array.from({ length: SUBSCRIBERS }, () => new Redis(url));
  return {
    name: 'pub/sub',
    async start(onEvent) {
      await Promise.all(
        subs.map(async (s, i) => {
          s.on('message', (_channel: string, raw: string) => onEvent(i, raw));
          await s.subscribe(CHANNEL);
        }),
      );
    },
    publish: (raw) => pub.publish(CHANNEL, raw),
    async stop() {
      pub.disconnect();
      for (const s of subs) s.disconnect();
    },
  };
}

function streams(url: string): Transport {
  const pub = new Redis(url);
  const subs = Array.from({ length: SUBSCRIBERS }, () => new Redis(url));
  let running = true;
  const loops: Promise<void>[] = [];
  return {
    name: 'Streams',
    async start(onEvent) {
      await pub.del(STREAM);
      const first = await pub.xadd(STREAM, 'MAXLEN', '~', '100000', '*', 'e', 'start');
      subs.forEach((s, i) => {
        loops.push(
          (async () => {
            let last = first ?? '$';
            while (running) {
              // One blocking read per instance, as a Streams bus would run; BLOCK bounds each call.
              const res = (await s.xread('COUNT', 512, 'BLOCK', 200, 'STREAMS', STREAM, last).catch(() => null)) as [string, [string, string[]][]][] | null;
              if (!res) continue;
              for (const [, entries] of res) {
                for (const [id, fields] of entries) {
                  last = id;
                  onEvent(i, fields[1]);
                }
              }
            }
          })(),
        );
      });
    },
    publish: (raw) => pub.xadd(STREAM, 'MAXLEN', '~', '100000', '*', 'e', raw),
    async stop() {
      running = false;
      await Promise.race([Promise.all(loops), sleep(1000)]);
      pub.disconnect();
      for (const s of subs) s.disconnect();
    },
  };
}

interface Measured {
  paced: Summary[];
  pacedAll: number[];
  throughput: number[];
  redisCpuPct: number[];
  lost: number;
}

/** CPU seconds redis-server has used so far (INFO cpu). */
async function redisCpuS(client: Redis): Promise<number> {
  const info = await client.info('cpu');
  const user = Number(/used_cpu_user:([\d.]+)/.exec(info)?.[1] ?? 0);
  const sys = Number(/used_cpu_sys:([\d.]+)/.exec(info)?.[1] ?? 0);
  return user + sys;
}

async function measure(t: Transport, round: number, into: Measured, admin: Redis): Promise<void> {
  let onEvent: (sub: number, raw: string) => void = () => undefined;
  await t.start((sub, raw) => onEvent(sub, raw));
  await sleep(200);
  {
    const r = round;
    // Paced: PACED_RATE events/s, sent in due-time batches every millisecond or so.
    const latencies: number[] = [];
    let received = 0;
    onEvent = (_sub, raw) => {
      received++;
      latencies.push(performance.now() - sendTime(raw));
    };
    const start = performance.now();
    let sent = 0;
    for (let now = start; now - start < PACED_S * 1000; now = performance.now()) {
      const due = Math.floor(((now - start) / 1000) * PACED_RATE);
      while (sent < due) t.publish(payload(sent++, performance.now())).catch(() => undefined);
      await sleep(1);
    }
    await until(() => received >= sent * SUBSCRIBERS, 10_000);
    into.lost += sent * SUBSCRIBERS - received;
    const s = summarize(latencies);
    into.paced.push(s);
    into.pacedAll.push(...latencies);
    log(NAME, `${t.name} paced ${PACED_RATE}/s round ${r + 1}: median ${s.median.toFixed(2)} ms, p99 ${s.p99.toFixed(2)} ms`);

    // Throughput: WINDOW publishes in flight; count what the slowest subscriber receives.
    const perSub = new Array<number>(SUBSCRIBERS).fill(0);
    onEvent = (sub) => perSub[sub]++;
    let inflight = 0;
    let n = 0;
    const cpu0 = await redisCpuS(admin);
    const satStart = performance.now();
    const end = satStart + SATURATION_S * 1000;
    await new Promise<void>((resolve) => {
      const pump = () => {
        while (inflight < WINDOW && performance.now() < end) {
          inflight++;
          t.publish(payload(n++, 0)).then(
            () => {
              inflight--;
              if (performance.now() < end) pump();
              else if (inflight === 0) resolve();
            },
            () => {
              inflight--;
              if (inflight === 0 && performance.now() >= end) resolve();
            },
          );
        }
      };
      pump();
    });
    const elapsed = (performance.now() - satStart) / 1000;
    const slowest = Math.min(...perSub);
    const redisPct = (100 * ((await redisCpuS(admin)) - cpu0)) / elapsed;
    into.throughput.push(slowest / elapsed);
    into.redisCpuPct.push(redisPct);
    log(NAME, `${t.name} throughput round ${r + 1}: ${Math.round(slowest / elapsed)} events/s to each of ${SUBSCRIBERS} subscribers (${n} published), redis-server CPU ${redisPct.toFixed(0)}%`);
    await until(() => Math.min(...perSub) >= n, 10_000);
    onEvent = () => undefined;
  }
  await t.stop();
}

export async function run(): Promise<BenchResult> {
  const startedAt = new Date().toISOString();
  const t0 = performance.now();
  const redis = await startRedis();
  try {
    const ps: Measured = { paced: [], pacedAll: [], throughput: [], redisCpuPct: [], lost: 0 };
    const st: Measured = { paced: [], pacedAll: [], throughput: [], redisCpuPct: [], lost: 0 };
    // Alternate the two, so that background load on the machine falls on both alike.
    for (let r = 0; r < ROUNDS; r++) {
      await measure(pubsub(redis.url), r, ps, redis.client);
      await measure(streams(redis.url), r, st, redis.client);
    }
    const pl = summarize(ps.pacedAll);
    const sl = summarize(st.pacedAll);
    const pt = summarize(ps.throughput);
    const stt = summarize(st.throughput);
    const info = await redis.client.info('memory');
    return {
      bench: NAME,
      startedAt,
      durationS: (performance.now() - t0) / 1000,
      metrics: [
        metric({ name: `pub/sub publish->receive at ${PACED_RATE}/s, ${SUBSCRIBERS} subs`, unit: 'ms', median: pl.median, p99: pl.p99 }),
        metric({
          name: `Streams XADD->XREAD at ${PACED_RATE}/s, ${SUBSCRIBERS} subs`,
          unit: 'ms',
          median: sl.median,
          p99: sl.p99,
          baseline: { name: 'pub/sub', median: pl.median, p99: pl.p99 },
          ratioOf: 'p99',
        }),
        metric({ name: `pub/sub max throughput (slowest of ${SUBSCRIBERS} subs)`, unit: 'events/s', median: pt.median }),
        metric({
          name: `Streams max throughput (slowest of ${SUBSCRIBERS} subs)`,
          unit: 'events/s',
          median: stt.median,
          baseline: { name: 'pub/sub', median: pt.median },
        }),
      ],
      details: {
        payloadBytes: payload(12345, performance.now()).length,
        subscribers: SUBSCRIBERS,
        pacedRate: PACED_RATE,
        window: WINDOW,
        pubsub: { latency: pl, rounds: ps.paced, throughput: ps.throughput, redisCpuPct: ps.redisCpuPct, lost: ps.lost },
        streams: { latency: sl, rounds: st.paced, throughput: st.throughput, redisCpuPct: st.redisCpuPct, lost: st.lost, maxlen: '~100000' },
        redisUsedMemory: /used_memory_human:(\S+)/.exec(info)?.[1],
      },
      notes: [
        `Latency and throughput are measured with publisher and subscribers in one client process (one clock); redis-server is a separate process on the same 2 cores. Events lost: pub/sub ${ps.lost}, Streams ${st.lost}.`,
        `redis-server CPU at max throughput: pub/sub ${ps.redisCpuPct.map((v) => v.toFixed(0) + '%').join('/')}, Streams ${st.redisCpuPct.map((v) => v.toFixed(0) + '%').join('/')}; the client process (4 connections) is the other limit.`,
      ],
    };
  } finally {
    await redis.stop();
  }
}
