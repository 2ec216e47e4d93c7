// What each benchmark returns, and the compact table `npm run bench` prints.

export interface Metric {
  /** What was measured, e.g. "relay p99 at 2000 msg/s offered". */
  name: string;
  unit: string;
  /** The median (or the single measured value when there is one). */
  median: number;
  p99?: number;
  /** The same measurement of the baseline, taken in the same run. */
  baseline?: { name: string; median: number; p99?: number };
  /** median / baseline.median. */
  ratio?: number;
  /** The DESIGN aim this metric answers, as text, and whether this run met it. */
  aim?: string;
  met?: boolean;
  /** Which statistic the ratio compares (default: the medians; latency aims are about the p99). */
  ratioOf?: 'median' | 'p99';
}

export interface BenchResult {
  bench: string;
  startedAt: string;
  durationS: number;
  metrics: Metric[];
  /** Everything else worth keeping: parameters, counts, side measurements. */
  details: Record<string, unknown>;
  notes: string[];
  error?: string;
}

export function metric(m: Omit<Metric, 'ratio'>): Metric {
  const ours = m.ratioOf === 'p99' ? m.p99 : m.median;
  const theirs = m.ratioOf === 'p99' ? m.baseline?.p99 : m.baseline?.median;
  const ratio = ours !== undefined && theirs !== undefined && theirs !== 0 && Number.isFinite(theirs) ? ours / theirs : undefined;
  return { ...m, ratio };
}

function fmt(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return '-';
  const a = Math.abs(v);
  if (a >= 1000) return Math.round(v).toLocaleString('en-US');
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  if (a >= 1) return v.toFixed(2);
  return v.toPrecision(2);
}

export function table(results: BenchResult[]): string {
  const header = ['bench', 'metric', 'unit', 'median', 'p99', 'baseline (same run)', 'ratio', 'aim', 'met'];
  const rows: string[][] = [header];
  for (const r of results) {
    if (r.error) rows.push([r.bench, `FAILED: ${r.error.split('\n')[0].slice(0, 100)}`, '', '', '', '', '', '', '']);
    for (const m of r.metrics) {
      const base = m.baseline ? `${fmt(m.baseline.median)}${m.baseline.p99 !== undefined ? ` / p99 ${fmt(m.baseline.p99)}` : ''} (${m.baseline.name})` : '-';
      rows.push([
        r.bench,
        m.name,
        m.unit,
        fmt(m.median),
        fmt(m.p99),
        base,
        m.ratio === undefined ? '-' : `x${fmt(m.ratio)}${m.ratioOf === 'p99' ? ' (p99)' : ''}`,
        m.aim ?? '-',
        m.met === undefined ? '-' : m.met ? 'yes' : 'NO',
      ]);
    }
  }
  const widths = header.map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  const line = (row: string[]) => row.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  return [line(rows[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

export function log(bench: string, msg: string): void {
  process.stderr.write(`[${bench}] ${msg}\n`);
}
