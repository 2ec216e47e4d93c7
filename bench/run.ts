// `npm run bench [-- name ...]`: runs the benchmarks (all, or those named), prints one compact table and
// writes bench/results/latest.json (merged: a bench not run this time keeps its previous entry).
import { execFileSync } from 'node:child_process';
import { cpus, loadavg, totalmem } from 'node:os';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { table, type BenchResult } from './lib/report.ts';
import { killChildren } from './lib/procs.ts';

const BENCHES: Record<string, { file: string; limitS: number }> = {
  passwords: { file: './passwords.ts', limitS: 120 },
  fanout: { file: './fanout.ts', limitS: 150 },
  relay: { file: './relay.ts', limitS: 150 },
  drain: { file: './drain.ts', limitS: 150 },
  connect: { file: './connect.ts', limitS: 150 },
  idle: { file: './idle.ts', limitS: 300 },
  synchronous: { file: './synchronous.ts', limitS: 120 },
  tokens: { file: './tokens.ts', limitS: 60 },
  'queue-scale': { file: './queue-scale.ts', limitS: 900 },
  scaled: { file: './scaled.ts', limitS: 360 },
};

const RESULTS_DIR = fileURLToPath(new URL('./results/', import.meta.url));
const LATEST = join(RESULTS_DIR, 'latest.json');

function git(args: string[]): string | undefined {
  try {
    return execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

function machine() {
  const dirty = git(['status', '--porcelain', '--', 'src']);
  return {
    node: process.version,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    memGiB: Math.round(totalmem() / 2 ** 30),
    commit: git(['rev-parse', '--short', 'HEAD']),
    srcModified: dirty === undefined ? undefined : dirty.length > 0,
  };
}

/** Jiffies: the whole machine's busy and total time, and this process plus its reaped children. */
function cpuTimes(): { busy: number; total: number; ours: number } | undefined {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const total = f.reduce((a, b) => a + b, 0);
    const idle = f[3] + (f[4] ?? 0);
    // Fields after the parenthesised name: utime stime cutime cstime are 14-17 (1-based).
    const self = readFileSync('/proc/self/stat', 'utf8');
    const rest = self.slice(self.lastIndexOf(')') + 2).split(' ').map(Number);
    const ours = rest[11] + rest[12] + rest[13] + rest[14];
    return { busy: total - idle, total, ours };
  } catch {
    return undefined;
  }
}

/**
 * How busy the machine was with other work while a bench ran, as a share of all cores: the benches share
 * 2 cores with whatever else runs, and their numbers move with it.
 */
function otherLoad(before: ReturnType<typeof cpuTimes>, after: ReturnType<typeof cpuTimes>): number | undefined {
  if (!before || !after || after.total === before.total) return undefined;
  const others = after.busy - before.busy - (after.ours - before.ours);
  return Math.max(0, (100 * others) / (after.total - before.total));
}

async function runOne(name: string): Promise<BenchResult> {
  const spec = BENCHES[name];
  const startedAt = new Date().toISOString();
  const t0 = Date.now();
  process.stderr.write(`\n== ${name} (limit ${spec.limitS} s)\n`);
  let timer: NodeJS.Timeout | undefined;
  const cpu0 = cpuTimes();
  const load0 = loadavg()[0];
  const machineLoad = () => ({ loadavg1Before: load0, otherProcessesCpuPct: otherLoad(cpu0, cpuTimes()) });
  try {
    const mod = (await import(spec.file)) as { run: () => Promise<BenchResult> };
    const limit = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${name} exceeded its ${spec.limitS} s limit`)), spec.limitS * 1000);
    });
    const result = await Promise.race([mod.run(), limit]);
    result.details.machineLoad = machineLoad();
    const other = (result.details.machineLoad as { otherProcessesCpuPct?: number }).otherProcessesCpuPct;
    if (other !== undefined && other > 10) result.notes.push(`Other processes used ${other.toFixed(0)}% of the machine's CPU during this bench: expect noise.`);
    process.stderr.write(`== ${name} done in ${result.durationS.toFixed(1)} s\n`);
    return result;
  } catch (err) {
    process.stderr.write(`== ${name} FAILED: ${(err as Error).stack ?? String(err)}\n`);
    killChildren();
    return { bench: name, startedAt, durationS: (Date.now() - t0) / 1000, metrics: [], details: { machineLoad: machineLoad() }, notes: [], error: (err as Error).message ?? String(err) };
  } finally {
    clearTimeout(timer);
  }
}

async function main(): Promise<void> {
  const asked = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  const unknown = asked.filter((a) => !(a in BENCHES));
  if (unknown.length > 0) {
    process.stderr.write(`Unknown bench: ${unknown.join(', ')}. Known: ${Object.keys(BENCHES).join(', ')}\n`);
    process.exit(2);
  }
  const names = asked.length > 0 ? Object.keys(BENCHES).filter((n) => asked.includes(n)) : Object.keys(BENCHES);
  const t0 = Date.now();
  const results: BenchResult[] = [];
  for (const name of names) results.push(await runOne(name));

  process.stdout.write(`\n${table(results)}\n`);
  for (const r of results) for (const n of r.notes) process.stdout.write(`  ${r.bench}: ${n}\n`);
  process.stdout.write(`\nTotal ${((Date.now() - t0) / 1000).toFixed(0)} s on ${cpus().length} cores, Node ${process.version}.\n`);

  mkdirSync(RESULTS_DIR, { recursive: true });
  let previous: { benches?: Record<string, BenchResult> } = {};
  if (existsSync(LATEST)) {
    try {
      previous = JSON.parse(readFileSync(LATEST, 'utf8'));
    } catch {
      previous = {};
    }
  }
  const benches = { ...(previous.benches ?? {}) };
  for (const r of results) benches[r.bench] = r;
  writeFileSync(LATEST, JSON.stringify({ writtenAt: new Date().toISOString(), machine: machine(), benches }, null, 2) + '\n');
  process.stdout.write(`Results written to ${LATEST}\n`);
  // Child processes and sockets are all closed by now; exit anyway so a stray handle cannot hang the run.
  process.exit(results.some((r) => r.error) ? 1 : 0);
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
