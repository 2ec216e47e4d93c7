// SQLite commit durability: synchronous=NORMAL (the default; WAL survives a process crash, the last commits
// can be lost on a power loss) against FULL (an fsync per commit; SQLITE_SYNCHRONOUS=full). The store alone,
// on a fresh file each time, rounds alternating so that background load falls on both:
//   appendMessage with one caller (a commit each) and with 200 callers (group commit), and store.assign in a loop.
import { performance } from 'node:perf_hooks';
import { join } from 'node:path';
import { newDataDir, removeDir } from './lib/procs.ts';
import { log, metric, type BenchResult } from './lib/report.ts';
import { summarize } from './lib/stats.ts';
import { openSqlite } from '../src/store/open.ts';

const NAME = 'synchronous';
const ROUNDS = 3;
const SECONDS = 2;
const CALLERS = 200;
const ASSIGNS = 500;

async function measure(mode: 'normal' | 'full') {
  const dir = newDataDir();
  try {
    const store = await openSqlite({ file: join(dir, 'switchboard.sqlite3'), synchronous: mode });
    const { user, profile } = await store.createCustomer({ username: 's', email: '', firstName: '', lastName: '', passwordHash: 'x' }, 1);
    const convs: string[] = [];
    for (let i = 0; i < CALLERS; i++) convs.push((await store.createConversation(profile.id, Date.now())).id);
    let n = 0;
    const append = (conv: string) => store.appendMessage({ conversationId: conv, authorId: user.id, text: 'x'.repeat(90), clientId: `s.${n++}`, timestamp: Date.now(), username: 's' });
    let t0 = performance.now();
    let done = 0;
    while (performance.now() - t0 < SECONDS * 1000) {
      await append(convs[done % convs.length]);
      done++;
    }
    const sequential = done / ((performance.now() - t0) / 1000);
    t0 = performance.now();
    done = 0;
    await Promise.all(
      convs.map(async (conv) => {
        while (performance.now() - t0 < SECONDS * 1000) {
          await append(conv);
          done++;
        }
      }),
    );
    const concurrent = done / ((performance.now() - t0) / 1000);
    const { profile: rep } = await store.createRep({ username: 'r', email: '', firstName: '', lastName: '', passwordHash: 'x' }, ASSIGNS);
    const ids: string[] = [];
    for (let i = 0; i < ASSIGNS; i++) {
      const c = await store.createConversation(profile.id, Date.now());
      await store.enqueue(c.id, Date.now());
      ids.push(c.id);
    }
    t0 = performance.now();
    for (const id of ids) await store.assign(id, rep.id, Date.now());
    const assigns = (ASSIGNS / (performance.now() - t0)) * 1000;
    await store.close();
    return { sequential, concurrent, assigns };
  } finally {
    removeDir(dir);
  }
}

export async function run(): Promise<BenchResult> {
  const startedAt = new Date().toISOString();
  const t0 = performance.now();
  const normal: Array<Awaited<ReturnType<typeof measure>>> = [];
  const full: Array<Awaited<ReturnType<typeof measure>>> = [];
  for (let i = 0; i < ROUNDS; i++) {
    normal.push(await measure('normal'));
    full.push(await measure('full'));
    const [a, b] = [normal[i], full[i]];
    log(NAME, `round ${i + 1}: NORMAL ${a.sequential.toFixed(0)} / ${a.concurrent.toFixed(0)} msg/s, ${a.assigns.toFixed(0)} assigns/s; FULL ${b.sequential.toFixed(0)} / ${b.concurrent.toFixed(0)} msg/s, ${b.assigns.toFixed(0)} assigns/s`);
  }
  const med = (xs: typeof normal, k: 'sequential' | 'concurrent' | 'assigns') => summarize(xs.map((x) => x[k])).median;
  return {
    bench: NAME,
    startedAt,
    durationS: (performance.now() - t0) / 1000,
    metrics: [
      metric({ name: 'FULL: appendMessage, one caller (a commit each)', unit: 'msg/s', median: med(full, 'sequential'), baseline: { name: 'NORMAL', median: med(normal, 'sequential') } }),
      metric({ name: `FULL: appendMessage, ${CALLERS} callers (group commit)`, unit: 'msg/s', median: med(full, 'concurrent'), baseline: { name: 'NORMAL', median: med(normal, 'concurrent') } }),
      metric({ name: 'FULL: store.assign in a loop', unit: 'assigns/s', median: med(full, 'assigns'), baseline: { name: 'NORMAL', median: med(normal, 'assigns') } }),
    ],
    details: { normal, full },
    notes: [],
  };
}
