// The deployment files agree with config.ts: the compose stack's app environment starts the server in
// production mode, it sets no variable config.ts does not read, and every variable config.ts reads has a
// row in the README's configuration table.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { loadConfig } from '../../src/config.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const read = (p: string) => readFileSync(join(ROOT, p), 'utf8');

/** Every environment variable config.ts reads: env.NAME, env['NAME'] and the helpers' (env, 'NAME', ...). */
function variablesReadByConfig(): string[] {
  const src = read('src/config.ts');
  const names = new Set<string>();
  for (const m of src.matchAll(/env\.([A-Z][A-Z0-9_]*)/g)) names.add(m[1]);
  for (const m of src.matchAll(/env\[['"]([A-Z][A-Z0-9_]*)['"]\]/g)) names.add(m[1]);
  for (const m of src.matchAll(/\(env, '([A-Z][A-Z0-9_]*)'/g)) names.add(m[1]);
  return [...names].sort();
}

/** The app service's environment in deploy/docker-compose.yml (the `x-app` anchor both replicas share). */
function composeAppEnvironment(): Record<string, string> {
  const lines = read('deploy/docker-compose.yml').split('\n');
  const start = lines.findIndex((l) => /^x-app:/.test(l));
  const envAt = lines.findIndex((l, i) => i > start && /^ {2}environment:\s*$/.test(l));
  assert.ok(start >= 0 && envAt > start, 'x-app with an environment block');
  const env: Record<string, string> = {};
  for (const line of lines.slice(envAt + 1)) {
    if (/^\s*#/.test(line) || line.trim() === '') continue;
    const m = /^ {4}([A-Z][A-Z0-9_]*):\s*(.*)$/.exec(line);
    if (!m) break;
    env[m[1]] = m[2].replace(/^"(.*)"$/, '$1');
  }
  return env;
}

/** Compose's interpolation, with what a filled-in deploy/.env would give. */
function interpolate(value: string, dotenv: Record<string, string>): string {
  return value.replace(/\$\{([A-Z0-9_]+)(?::?([-?])([^}]*))?\}/g, (_m, name: string, op: string | undefined, arg: string) => {
    if (dotenv[name] !== undefined && dotenv[name] !== '') return dotenv[name];
    if (op === '?') throw new Error(`${name} is required: ${arg}`);
    return op === '-' ? arg : '';
  });
}

describe('deployment configuration', () => {
  const configVars = variablesReadByConfig();

  it('finds the variables config.ts reads', () => {
    for (const v of ['PORT', 'DATABASE_URL', 'REDIS_URL', 'JWT_SECRET', 'TRUST_PROXY', 'NODE_ENV', 'REP_REGISTRATION']) assert.ok(configVars.includes(v), v);
  });

  it('starts a production server from the compose app environment and a filled-in .env', () => {
    const raw = composeAppEnvironment();
    const dotenv = { POSTGRES_PASSWORD: 'a'.repeat(48), JWT_SECRET: 'b'.repeat(64), METRICS_TOKEN: 'c'.repeat(40) };
    const env = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, interpolate(v, dotenv)]));
    const config = loadConfig(env);
    assert.equal(config.production, true);
    assert.equal(config.host, '0.0.0.0');
    assert.match(config.databaseUrl ?? '', /^postgres:\/\/switchboard:a+@postgres:5432\/switchboard$/);
    assert.equal(config.redisUrl, 'redis://redis:6379');
    assert.equal(config.trustProxy, 1, 'one hop: nginx');
    assert.equal(config.repRegistration, 'admin');
    assert.throws(() => interpolate(raw.JWT_SECRET, {}), /JWT_SECRET is required/);
    assert.throws(() => interpolate(raw.METRICS_TOKEN, {}), /METRICS_TOKEN is required/);
  });

  it('sets only variables config.ts reads', () => {
    for (const name of Object.keys(composeAppEnvironment())) assert.ok(configVars.includes(name), `${name} is not read by config.ts`);
  });

  it('has a README configuration row for every variable config.ts reads', () => {
    const readme = read('README.md');
    const rows = readme.split('\n').filter((l) => l.startsWith('| `'));
    const documented = new Set(rows.flatMap((l) => [...l.split('|')[1].matchAll(/`([A-Z][A-Z0-9_]*)`/g)].map((m) => m[1])));
    const missing = configVars.filter((v) => !documented.has(v));
    assert.deepEqual(missing, [], `README rows missing for ${missing.join(', ')}`);
  });

  it('documents the production secrets in deploy/.env.example', () => {
    const example = read('deploy/.env.example');
    for (const v of ['POSTGRES_PASSWORD=', 'JWT_SECRET=', 'REP_REGISTRATION=', 'METRICS_TOKEN=']) assert.ok(example.includes(v), v);
  });
});
