// `npm run bench [-- name ...]`: runs the benchmarks (all, or those named), prints one compact table and
// writes bench/results/latest.json (merged: a bench not run this time keeps its previous entry).
import { execFileSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
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
  idle: { file: './idle.ts', limitS: 180 },
};

const RESULTS_DIR = fileURLToPath(new URL('./results/', import.meta.url));
const LATEST = join(RESULTS_DIR, 'latest.json');

function machine() {
  let commit: string | undefined;
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    commit = undefined;
  }
  return { node: process.version, cpus: cpus().length, cpuModel: cpus()[0]?.model, memGiB: Math.round(totalmem() / 2 ** 30), commit };
}

async function runOne(name: string): Promise<BenchResult> {
  const spec = BENCHES[name];
  const startedAt = new Date().toISOString();
  const t0 = Date.now();
  process.stderr.write(`\n== ${name} (limit ${spec.limitS} s)\n`);
  let timer: NodeJS.Timeout | undefined;
  try {
    const mod = (await import(spec.file)) as { run: () => Promise<BenchResult> };
    const limit = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${name} exceeded its ${spec.limitS} s limit`)), spec.limitS * 1000);
    });
    const result = await Promise.race([mod.run(), limit]);
    process.stderr.write(`== ${name} done in ${result.durationS.toFixed(1)} s\n`);
    return result;
  } catch (err) {
    process.stderr.write(`== ${name} FAILED: ${(err as Error).stack ?? String(err)}\n`);
    killChildren();
    return { bench: name, startedAt, durationS: (Date.now() - t0) / 1000, metrics: [], details: {}, notes: [], error: (err as Error).message ?? String(err) };
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
