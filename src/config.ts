// Reads the environment into one typed, validated config; a bad value stops the process naming the variable.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import { isIP } from 'node:net';
import { makePrivateDir } from './store/private-files.ts';

/**
 * The accept queue of the listening socket (capped by the kernel's somaxconn). With Node's default, 511, a connect
 * storm (every customer reconnecting after a restart) has the SYNs beyond it dropped, each retried by its client
 * a second later (bench/README.md, the connect bench).
 */
export const LISTEN_BACKLOG = 4096;

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
  /** Which hops' X-Forwarded-For to believe: false (none), true (all), a hop count, or proxy addresses/CIDRs. */
  trustProxy: TrustProxy;
  logLevel: string;
  metricsToken: string | undefined;
  production: boolean;
  /** 'open': anyone may register a rep (the original API); 'admin': only an admin's token may. */
  repRegistration: 'open' | 'admin';
  maxRepCapacity: number;

  // The browser console
  /** Origins allowed to embed the customer widget (CSP frame-ancestors); empty: the app's own origin only. */
  widgetOrigins: string[];
  // Accounts and auth hardening: per-username login throttle, bounded password hashing, token families.
  /** Failed logins per username within loginWindowS before the username is locked (0: no per-username limit). */
  loginMaxFailures: number;
  loginWindowS: number;
  /** scrypt jobs running at once (libuv's pool has 4 threads, shared with DNS and file I/O). */
  hashConcurrency: number;
  /** scrypt jobs waiting for a slot; past this, 503 with Retry-After. */
  hashQueue: number;
  /** Absolute lifetime of a refresh-token family, from its login, however often it rotates. */
  refreshFamilyTtlS: number;
  // Limits on sockets, the queue and storage (see the threat model in docs/architecture.md).
  /** A user's open sockets across instances; a rep may hold this plus 2 per chat it holds. */
  maxSocketsPerUser: number;
  /** How long a socket's place in that count outlives its instance when the instance dies without releasing it. */
  socketLeaseMs: number;
  /** Stored chat messages a second, shared by all of one user's sockets. */
  messagesPerUserPerS: number;
  /** WebSocket upgrades a minute per client address. */
  rateWsUpgradesPerMin: number;
  /** An assigned chat whose rep neither joins nor writes within this goes back to the queue; 0 is off. */
  acceptTimeoutMs: number;
  /** Open (new, queued, assigned) conversations per customer. */
  maxOpenConversations: number;
  /** Conversations a user may open or queue a minute. */
  rateConversationsPerMin: number;
  /** Ceilings on the unpaged conversation list and on a conversation's history in its detail. */
  maxListItems: number;
  maxHistoryMessages: number;
  /** The whole request (headers and body) must arrive within this; 0 is no limit. */
  requestTimeoutMs: number;
  /** A request's headers, an upgrade's included, must arrive within this. */
  wsHandshakeTimeoutMs: number;
  /** Closed conversations older than this many days are deleted; undefined keeps everything. */
  retentionDays: number | undefined;
  /**
   * SQLite's commit durability in WAL mode. 'normal' (the default) survives a crash of the process but
   * can lose the last commits on a power loss or OS crash; 'full' syncs every commit, at a cost (bench/).
   */
  sqliteSynchronous: 'normal' | 'full';
  // Redis Cluster: seed nodes instead of REDIS_URL; every key carries one hash tag, so the routing
  // scripts (multi-key) run on a cluster unchanged.
  redisClusterNodes: Array<{ host: string; port: number }> | undefined;
}

/** Fastify's `trustProxy` forms that a deployment can state in one variable. */
export type TrustProxy = boolean | number | string[];

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

export function bool(env: Env, name: string, def: boolean): boolean {
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

// TRUST_PROXY: the proxy in front decides which X-Forwarded-For entries are real. `true` believes every
// entry (the earlier meaning: safe only when the proxy overwrites the header); a hop count believes that
// many proxies; a list believes only peers at those addresses. Named ranges are proxy-addr's.
const NAMED_RANGES = ['loopback', 'linklocal', 'uniquelocal'];

function trustProxy(env: Env): TrustProxy {
  const raw = (env.TRUST_PROXY ?? '').trim().toLowerCase();
  if (raw === '' || ['false', 'no', 'off'].includes(raw)) return false;
  if (['true', 'yes', 'on'].includes(raw)) return true;
  if (/^\d+$/.test(raw)) {
    const hops = Number(raw);
    if (hops > 32) throw new ConfigError('TRUST_PROXY', `a hop count must be between 0 and 32, got ${hops}`);
    return hops === 0 ? false : hops;
  }
  const entries = raw.split(',').map((e) => e.trim()).filter((e) => e !== '');
  for (const entry of entries) {
    if (NAMED_RANGES.includes(entry)) continue;
    const [address, bits, ...rest] = entry.split('/');
    const family = isIP(address);
    const max = family === 4 ? 32 : 128;
    const badBits = bits !== undefined && (!/^\d+$/.test(bits) || Number(bits) > max);
    if (family === 0 || badBits || rest.length > 0) {
      throw new ConfigError(
        'TRUST_PROXY',
        `expected true, false, a hop count, or a comma-separated list of proxy addresses/CIDRs (or ${NAMED_RANGES.join(', ')}); "${entry}" is none of these`,
      );
    }
  }
  return entries;
}

/** A space- or comma-separated list of origins (`https://shop.example.com`, `https://*.example.com`) or `*`. */
function origins(env: Env, name: string): string[] {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return [];
  const list = raw.split(/[\s,]+/).filter(Boolean);
  for (const o of list) {
    if (o !== '*' && !/^https?:\/\/(\*\.)?[A-Za-z0-9.-]+(:\d{1,5})?$/.test(o)) {
      throw new ConfigError(name, `"${o}" is not an origin like https://shop.example.com`);
    }
  }
  return list;
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
  const metricsToken = env.METRICS_TOKEN === '' ? undefined : env.METRICS_TOKEN;
  // Metrics name routes, queue sizes and process internals: not for anonymous callers in production.
  if (production && metricsToken === undefined) throw new ConfigError('METRICS_TOKEN', 'is required when NODE_ENV=production (the bearer token for /metrics)');
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
    trustProxy: trustProxy(env),
    logLevel,
    metricsToken,
    production,
    repRegistration: oneOf(env, 'REP_REGISTRATION', ['open', 'admin'] as const, production ? 'admin' : 'open'),
    maxRepCapacity: int(env, 'MAX_REP_CAPACITY', 100, 1, 10_000),

    // The browser console
    widgetOrigins: origins(env, 'WIDGET_ORIGINS'),
    loginMaxFailures: int(env, 'LOGIN_MAX_FAILURES', 10, 0, 1000),
    loginWindowS: int(env, 'LOGIN_WINDOW_S', 900, 1, 86_400),
    // Outside production the original's behaviour stays the default (a burst of registrations waits its turn
    // on libuv's 4 threads, none refused); production keeps 2 threads free and refuses past a short queue.
    hashConcurrency: int(env, 'HASH_CONCURRENCY', production ? 2 : 4, 1, 64),
    hashQueue: int(env, 'HASH_QUEUE', production ? 128 : 100_000, 0, 100_000),
    refreshFamilyTtlS: int(env, 'REFRESH_FAMILY_TTL_S', 2_592_000, 1),
    // Limits on sockets, the queue and storage.
    maxSocketsPerUser: int(env, 'MAX_SOCKETS_PER_USER', 20, 1, 100_000),
    // Renewed every third of it; the lower bound keeps renewals from flooding Redis.
    socketLeaseMs: int(env, 'SOCKET_LEASE_MS', 30_000, 300, 3_600_000),
    // The original had no budget per user; outside production a multi-socket client keeps that (0 is off).
    messagesPerUserPerS: int(env, 'MESSAGES_PER_USER_PER_S', production ? 20 : 0, 0),
    rateWsUpgradesPerMin: int(env, 'RATE_WS_UPGRADES_PER_MIN', 6000, 1),
    acceptTimeoutMs: int(env, 'ACCEPT_TIMEOUT_MS', 120000, 0, MAX_TIMER_MS),
    maxOpenConversations: int(env, 'MAX_OPEN_CONVERSATIONS', 10, 1, 100_000),
    rateConversationsPerMin: int(env, 'RATE_CONVERSATIONS_PER_MIN', 60, 1),
    maxListItems: int(env, 'MAX_LIST_ITEMS', 10_000, 1, 1_000_000),
    maxHistoryMessages: int(env, 'MAX_HISTORY_MESSAGES', 10_000, 1, 1_000_000),
    requestTimeoutMs: int(env, 'REQUEST_TIMEOUT_MS', 30_000, 0, MAX_TIMER_MS),
    wsHandshakeTimeoutMs: int(env, 'WS_HANDSHAKE_TIMEOUT_MS', 10_000, 100, 300_000),
    retentionDays: env.RETENTION_DAYS === undefined || env.RETENTION_DAYS.trim() === '' ? undefined : int(env, 'RETENTION_DAYS', 0, 1, 100_000),
    // Commit durability of the embedded store (see the README's configuration table).
    sqliteSynchronous: oneOf(env, 'SQLITE_SYNCHRONOUS', ['normal', 'full'] as const, 'normal'),
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
  makePrivateDir(config.dataDir);
  const file = join(config.dataDir, 'jwt-secret');
  if (existsSync(file)) {
    const secret = readFileSync(file, 'utf8').trim();
    if (secret.length >= 32) return secret;
  }
  const secret = randomBytes(48).toString('base64url');
  writeFileSync(file, secret + '\n', { mode: 0o600 });
  return secret;
}
