// Prints the top self-time frames of one or more V8 .cpuprofile files (as written by node --cpu-prof):
//   node --import tsx bench/profile-top.ts /tmp/prof/*.cpuprofile [--top 25] [--inclusive name,name]
// --inclusive also prints, for each function named, the time spent in it and everything it called (a frame
// resumed after an await counts from its resumption: CPU time of its synchronous stretches).
// --window from,to keeps only the samples taken between two monotonic times in µs (process.hrtime and V8's
// profiler read the same clock; the drain bench logs each phase's window), so that one phase of a run is read alone.
// Frames are grouped by function, file and line; "(garbage collector)", "(program)" and "(idle)" stay as V8 names them.
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const args = process.argv.slice(2);
const topAt = args.indexOf('--top');
const top = topAt >= 0 ? Number(args[topAt + 1]) : 25;
const incAt = args.indexOf('--inclusive');
const inclusive = incAt >= 0 ? args[incAt + 1].split(',') : [];
const winAt = args.indexOf('--window');
const span = winAt >= 0 ? args[winAt + 1].split(',').map(Number) : undefined;
const optionValues = new Set([topAt, incAt, winAt].filter((i) => i >= 0).map((i) => i + 1));
const files = args.filter((a, i) => !a.startsWith('--') && !optionValues.has(i));

/** Each sample's time (the delta that follows it: V8 records the delta before the next sample), 0 outside --window. */
function sampleTimes(p: Profile): number[] {
  const out: number[] = [];
  let at = p.startTime;
  for (let i = 0; i < p.samples.length; i++) {
    at += p.timeDeltas[i] ?? 0;
    const inside = !span || (at >= span[0] && at <= span[1]);
    out.push(inside ? (p.timeDeltas[i + 1] ?? 0) : 0);
  }
  return out;
}

/** Time in each named function's subtree, counting a function nested in itself once. */
function inclusiveTimes(p: Profile, names: string[]): Map<string, number> {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  const dts = sampleTimes(p);
  for (let i = 0; i < p.samples.length; i++) selfUs.set(p.samples[i], (selfUs.get(p.samples[i]) ?? 0) + dts[i]);
  const out = new Map<string, number>(names.map((n) => [n, 0]));
  const root = p.nodes[0];
  const walk = (n: Node, open: Set<string>) => {
    const name = n.callFrame.functionName;
    const t = selfUs.get(n.id) ?? 0;
    for (const o of open) out.set(o, out.get(o)! + t);
    const entering = out.has(name) && !open.has(name);
    if (entering) {
      out.set(name, out.get(name)! + t);
      open.add(name);
    }
    for (const c of n.children ?? []) walk(byId.get(c)!, open);
    if (entering) open.delete(name);
  };
  walk(root, new Set());
  return out;
}

for (const file of files) {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  let total = 0;
  const dts = sampleTimes(p);
  for (let i = 0; i < p.samples.length; i++) {
    const dt = dts[i];
    const n = byId.get(p.samples[i]);
    if (!n) continue;
    const f = n.callFrame;
    const where = f.url ? `${relative(process.cwd(), f.url.replace(/^file:\/\//, ''))}:${f.lineNumber + 1}` : '';
    const key = `${f.functionName || '(anonymous)'} ${where}`.trim();
    self.set(key, (self.get(key) ?? 0) + dt);
    total += dt;
  }
  const idle = self.get('(idle)') ?? 0;
  const busy = total - idle;
  process.stdout.write(`\n${file}: ${(total / 1e6).toFixed(1)} s sampled, ${(busy / 1e6).toFixed(1)} s busy (shares below are of busy time)\n`);
  const rows = [...self.entries()].filter(([k]) => k !== '(idle)').sort((a, b) => b[1] - a[1]).slice(0, top);
  for (const [k, us] of rows) process.stdout.write(`${((100 * us) / busy).toFixed(1).padStart(5)} %  ${(us / 1000).toFixed(0).padStart(7)} ms  ${k}\n`);
  if (inclusive.length > 0) {
    process.stdout.write('inclusive (the function and what it called):\n');
    for (const [k, us] of inclusiveTimes(p, inclusive)) process.stdout.write(`${((100 * us) / busy).toFixed(1).padStart(5)} %  ${(us / 1000).toFixed(0).padStart(7)} ms  ${k}\n`);
  }
}
