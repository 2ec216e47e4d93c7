// Access-token verification, cold (every token new, as in a connect storm): TokenService.verifyAccess
// (fast-jwt, node:crypto HMAC) against jose's jwtVerify (WebCrypto), the verifier used before. 2000 tokens,
// 3 alternating rounds, each token verified once by each (TokenService's cache is per instance: a fresh one per round).
import { performance } from 'node:perf_hooks';
import { jwtVerify } from 'jose';
import { TokenService } from '../src/auth/tokens.ts';
import { log, metric, type BenchResult } from './lib/report.ts';
import { summarize } from './lib/stats.ts';

const NAME = 'tokens';
const N = 2000;
const SECRET = 'bench-secret-bench-secret-bench-secret-0123';

export async function run(): Promise<BenchResult> {
  const startedAt = new Date().toISOString();
  const t0 = performance.now();
  const signer = new TokenService(SECRET, 900, 900);
  const tokens: string[] = [];
  for (let i = 0; i < N; i++) tokens.push(await signer.signAccess({ userId: i + 1, role: 'customer', epoch: 0 }));
  const key = new TextEncoder().encode(SECRET);
  const ours: number[] = [];
  const jose: number[] = [];
  for (let r = 0; r < 3; r++) {
    const svc = new TokenService(SECRET, 900, 900);
    let s = performance.now();
    for (const t of tokens) await svc.verifyAccess(t);
    ours.push(((performance.now() - s) * 1000) / N);
    s = performance.now();
    for (const t of tokens) await jwtVerify(t, key, { algorithms: ['HS256'], issuer: 'switchboard' });
    jose.push(((performance.now() - s) * 1000) / N);
    log(NAME, `round ${r + 1}: verifyAccess ${ours[r].toFixed(1)} µs, jose jwtVerify ${jose[r].toFixed(1)} µs per fresh token`);
  }
  const a = summarize(ours).median;
  const b = summarize(jose).median;
  return {
    bench: NAME,
    startedAt,
    durationS: (performance.now() - t0) / 1000,
    metrics: [metric({ name: `verifyAccess, ${N} fresh tokens (fast-jwt)`, unit: 'µs/token', median: a, baseline: { name: 'jose jwtVerify', median: b } })],
    details: { ours, jose },
    notes: [],
  };
}
