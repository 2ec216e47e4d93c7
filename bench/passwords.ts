// Password hashing (src/auth/passwords.ts): the cost of one hash and one verify, and what 8 concurrent hashes
// do to the event loop. They run on libuv's thread pool, so the loop should barely notice; the baseline,
// in the same run, is scryptSync with the same parameters on the loop itself.
import { performance } from 'node:perf_hooks';
import { randomBytes, scryptSync } from 'node:crypto';
import { cpus } from 'node:os';
import { hashPassword, verifyPassword } from '../src/auth/passwords.ts';
import { summarize } from './lib/stats.ts';
import { log, metric, type BenchResult } from './lib/report.ts';

const NAME = 'passwords';
const RUNS = 15;
const CONCURRENT = 8;
const STALL_ROUNDS = 5;
// The parameters hashPassword uses (N=2^14, r=8, p=1, 32-byte key).
const PARAMS = { N: 16384, r: 8, p: 1, maxmem: 128 * 16384 * 8 * 2 };

/** Runs `work` while a 1 ms timer ticks; returns the longest gap between ticks beyond the 1 ms asked for. */
async function stallDuring(work: () => Promise<unknown> | unknown): Promise<{ stallMs: number; wallMs: number }> {
  let last = performance.now();
  let worst = 0;
  let ticking = true;
  const ticker = (async () => {
    while (ticking) {
      await new Promise((r) => setTimeout(r, 1));
      const now = performance.now();
      worst = Math.max(worst, now - last - 1);
      last = now;
    }
  })();
  await new Promise((r) => setTimeout(r, 5));
  const t0 = performance.now();
  await work();
  const wallMs = performance.now() - t0;
  await new Promise((r) => setTimeout(r, 5));
  ticking = false;
  await ticker;
  return { stallMs: Math.max(0, worst), wallMs };
}

export async function run(): Promise<BenchResult> {
  const startedAt = new Date().toISOString();
  const t0 = performance.now();
  await hashPassword('warm-up');

  const hashMs: number[] = [];
  let stored = '';
  for (let i = 0; i < RUNS; i++) {
    const s = performance.now();
    stored = await hashPassword(`password-${i}`);
    hashMs.push(performance.now() - s);
  }
  const verifyMs: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const s = performance.now();
    const ok = await verifyPassword(`password-${RUNS - 1}`, stored);
    verifyMs.push(performance.now() - s);
    if (!ok) throw new Error('verifyPassword refused the right password');
  }
  const syncMs: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const salt = randomBytes(16);
    const s = performance.now();
    scryptSync(`password-${i}`, salt, 32, PARAMS);
    syncMs.push(performance.now() - s);
  }
  const hash = summarize(hashMs);
  const verify = summarize(verifyMs);
  const sync = summarize(syncMs);
  log(NAME, `hash median ${hash.median.toFixed(1)} ms, verify ${verify.median.toFixed(1)} ms, scryptSync ${sync.median.toFixed(1)} ms`);

  const asyncStall: number[] = [];
  const asyncWall: number[] = [];
  const syncStall: number[] = [];
  for (let r = 0; r < STALL_ROUNDS; r++) {
    const a = await stallDuring(() => Promise.all(Array.from({ length: CONCURRENT }, (_, i) => hashPassword(`concurrent-${i}`))));
    asyncStall.push(a.stallMs);
    asyncWall.push(a.wallMs);
    const b = await stallDuring(() => {
      for (let i = 0; i < CONCURRENT; i++) scryptSync(`concurrent-${i}`, randomBytes(16), 32, PARAMS);
    });
    syncStall.push(b.stallMs);
  }
  const aStall = summarize(asyncStall);
  const sStall = summarize(syncStall);
  const wall = summarize(asyncWall);
  log(NAME, `event-loop stall with ${CONCURRENT} hashes: ${aStall.median.toFixed(1)} ms (scryptSync: ${sStall.median.toFixed(0)} ms)`);

  return {
    bench: NAME,
    startedAt,
    durationS: (performance.now() - t0) / 1000,
    metrics: [
      metric({ name: `hashPassword (median of ${RUNS})`, unit: 'ms', median: hash.median, p99: hash.max, baseline: { name: 'scryptSync', median: sync.median } }),
      metric({ name: `verifyPassword (median of ${RUNS})`, unit: 'ms', median: verify.median, p99: verify.max, baseline: { name: 'scryptSync', median: sync.median } }),
      metric({
        name: `event-loop stall, ${CONCURRENT} hashes at once (median of ${STALL_ROUNDS})`,
        unit: 'ms',
        median: aStall.median,
        p99: aStall.max,
        baseline: { name: `${CONCURRENT} x scryptSync`, median: sStall.median, p99: sStall.max },
        aim: 'hashing never blocks the loop',
        met: aStall.max < 20,
      }),
      metric({ name: `${CONCURRENT} hashes at once, wall time`, unit: 'ms', median: wall.median, baseline: { name: `${CONCURRENT} x scryptSync`, median: sStall.median } }),
    ],
    details: { params: { N: PARAMS.N, r: PARAMS.r, p: PARAMS.p }, hash, verify, scryptSync: sync, asyncStall: aStall, syncStall: sStall, concurrentWall: wall, threadpool: process.env.UV_THREADPOOL_SIZE ?? '4 (default)' },
    notes: [
      `p99 column = the slowest of the ${RUNS} runs. ${CONCURRENT} concurrent hashes share libuv's ${process.env.UV_THREADPOOL_SIZE ?? 4} pool threads on ${cpus().length} cores: about ${(1000 / (wall.median / CONCURRENT)).toFixed(0)} hashes/s per process, which bounds registrations and logins.`,
    ],
  };
}
