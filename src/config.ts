// Reads the environment into one typed, validated config; a bad value stops the process naming the variable.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';

export interface Config {
  port: number;
  host: string;
  dataDir: string;
  databaseUrl: string | undefined;
  databasePoolSize: number;
  redisUrl: string | undefined;
  redisPrefix: string;
  jwtSecret: string | undefined;
  accessTtlS: number;
  refreshTtlS: number;
  repGraceMs: number;
  customerGraceMs: number;
  heartbeatMs: number;
  rateRegisterPerMin: number;
  rateTokenPerMin: number;
  wsFramesPerS: number;
  trustProxy: boolean;
  logLevel: string;
  metricsToken: string | undefined;
  production: boolean;
  /** 'open': anyone may register a rep (the original API); 'admin': only an admin's token may. */
  repRegistration: 'open' | 'admin';
  maxRepCapacity: number;
  // Redis Cluster: seed nodes instead of REDIS_URL; every key carries one hash tag, so the routing
  // scripts (multi-key) run on a cluster unchanged.
  redisClusterNodes: Array<{ host: string; port: number }> | undefined;
}

export class ConfigError extends Error {
  constructor(readonly variable: string, message: string) {
    super(`${variable}: ${message}`);
  }
}

type Env = Record<string, string | undefined>;

function int(env: Env, name: string, def: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  if (!/^\d+$/.test(raw.trim())) throw new ConfigError(name, `expected an integer, got "${raw}"`);
  const n = Number(raw.trim());
  if (n < min || n > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${n}`);
  return n;
}

function bool(env: Env, name: string, def: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  const v = raw.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  throw new ConfigError(name, `expected true or false, got "${raw}"`);
}

function url(env: Env, name: string, schemes: string[]): string | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(name, 'is not a valid URL');
  }
  if (!schemes.includes(parsed.protocol.replace(/:$/, ''))) {
    throw new ConfigError(name, `must start with ${schemes.map((s) => `${s}://`).join(' or ')}`);
  }
  return raw;
}

const MAX_TIMER_MS = 2_147_483_647;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function oneOf<T extends string>(env: Env, name: string, values: readonly T[], def: T): T {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return def;
  const v = raw.trim().toLowerCase();
  if (!(values as readonly string[]).includes(v)) throw new ConfigError(name, `must be one of ${values.join(', ')}, got "${raw}"`);
  return v as T;
}

export function loadConfig(env: Env = process.env): Config {
  const production = env.NODE_ENV === 'production';
  const logLevel = (env.LOG_LEVEL ?? 'info').trim();
  if (!LOG_LEVELS.includes(logLevel)) throw new ConfigError('LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')}`);
  const redisPrefix = env.REDIS_PREFIX ?? 'sb';
  if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(redisPrefix)) throw new ConfigError('REDIS_PREFIX', 'letters, digits and _.:- only, 1-64 characters');
  const jwtSecret = env.JWT_SECRET === '' ? undefined : env.JWT_SECRET;
  if (jwtSecret !== undefined && jwtSecret.length < 32) throw new ConfigError('JWT_SECRET', 'must be at least 32 characters');
  if (production && jwtSecret === undefined) throw new ConfigError('JWT_SECRET', 'is required when NODE_ENV=production');
  const host = env.HOST ?? '127.0.0.1';
  if (host.trim() === '') throw new ConfigError('HOST', 'must not be empty');
  return {
    port: int(env, 'PORT', 8000, 0, 65535),
    host,
    dataDir: resolve(env.DATA_DIR && env.DATA_DIR !== '' ? env.DATA_DIR : './data'),
    databaseUrl: url(env, 'DATABASE_URL', ['postgres', 'postgresql']),
    databasePoolSize: int(env, 'DATABASE_POOL_SIZE', 10, 1, 1000),
    redisUrl: url(env, 'REDIS_URL', ['redis', 'rediss']),
    redisPrefix,
    jwtSecret,
    accessTtlS: int(env, 'ACCESS_TTL_S', 900, 1),
    refreshTtlS: int(env, 'REFRESH_TTL_S', 1209600, 1),
    // Node timers hold at most 2^31-1 ms; a longer one would fire at once.
    repGraceMs: int(env, 'REP_GRACE_MS', 30000, 0, MAX_TIMER_MS),
    customerGraceMs: int(env, 'CUSTOMER_GRACE_MS', 120000, 0, MAX_TIMER_MS),
    heartbeatMs: int(env, 'HEARTBEAT_MS', 30000, 100, MAX_TIMER_MS),
    rateRegisterPerMin: int(env, 'RATE_REGISTER_PER_MIN', 300, 1),
    rateTokenPerMin: int(env, 'RATE_TOKEN_PER_MIN', 600, 1),
    wsFramesPerS: int(env, 'WS_FRAMES_PER_S', 20, 1),
    trustProxy: bool(env, 'TRUST_PROXY', false),
    logLevel,
    metricsToken: env.METRICS_TOKEN === '' ? undefined : env.METRICS_TOKEN,
    production,
    repRegistration: oneOf(env, 'REP_REGISTRATION', ['open', 'admin'] as const, production ? 'admin' : 'open'),
    maxRepCapacity: int(env, 'MAX_REP_CAPACITY', 100, 1, 10_000),
    redisClusterNodes: clusterNodes(env),
  };
}

function clusterNodes(env: Env): Array<{ host: string; port: number }> | undefined {
  const raw = env.REDIS_CLUSTER_NODES;
  if (raw === undefined || raw.trim() === '') return undefined;
  if (env.REDIS_URL !== undefined && env.REDIS_URL !== '') {
    throw new ConfigError('REDIS_CLUSTER_NODES', 'set either REDIS_URL (one Redis) or REDIS_CLUSTER_NODES (a cluster), not both');
  }
  return raw.split(',').map((item) => {
    const m = /^\s*([A-Za-z0-9.-]+|\[[0-9A-Fa-f:]+\]):(\d{1,5})\s*$/.exec(item);
    const port = m ? Number(m[2]) : 0;
    if (!m || port < 1 || port > 65535) throw new ConfigError('REDIS_CLUSTER_NODES', `expected host:port[,host:port...], got "${item.trim()}"`);
    return { host: m[1].replace(/^\[|\]$/g, ''), port };
  });
}

/** The embedded default keeps a generated secret under DATA_DIR so tokens survive restarts. */
export function resolveJwtSecret(config: Config): string {
  if (config.jwtSecret) return config.jwtSecret;
  mkdirSync(config.dataDir, { recursive: true });
  const file = join(config.dataDir, 'jwt-secret');
  if (existsSync(file)) {
    const secret = readFileSync(file, 'utf8').trim();
    if (secret.length >= 32) return secret;
  }
  const secret = randomBytes(48).toString('base64url');
  writeFileSync(file, secret + '\n', { mode: 0o600 });
  return secret;
}
