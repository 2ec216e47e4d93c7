// Configuration: defaults, a ConfigError naming the variable for each bad value, and the JWT secret.
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ConfigError, loadConfig, resolveJwtSecret } from '../../src/config.ts';

const SECRET = 'x'.repeat(32);

function rejects(env: Record<string, string>, variable: string): void {
  assert.throws(
    () => loadConfig(env),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
      assert.equal(err.variable, variable);
      assert.ok(err.message.startsWith(`${variable}:`), `the message names ${variable}: ${err.message}`);
      return true;
    },
  );
}

describe('loadConfig', () => {
  it('has the documented defaults with nothing set', () => {
    const c = loadConfig({});
    assert.deepEqual(c, {
      port: 8000,
      host: '127.0.0.1',
      dataDir: resolve('./data'),
      databaseUrl: undefined,
      databasePoolSize: 10,
      redisUrl: undefined,
      redisPrefix: 'sb',
      jwtSecret: undefined,
      accessTtlS: 900,
      refreshTtlS: 1209600,
      repGraceMs: 30000,
      customerGraceMs: 120000,
      heartbeatMs: 30000,
      rateRegisterPerMin: 300,
      rateTokenPerMin: 600,
      wsFramesPerS: 20,
      trustProxy: false,
      logLevel: 'info',
      metricsToken: undefined,
      production: false,
      repRegistration: 'open',
      maxRepCapacity: 100,
      sqliteSynchronous: 'normal',
      widgetOrigins: [],
      loginMaxFailures: 10,
      loginWindowS: 900,
      hashConcurrency: 4,
      hashQueue: 100000,
      refreshFamilyTtlS: 2592000,
      maxSocketsPerUser: 20,
      socketLeaseMs: 30000,
      messagesPerUserPerS: 0,
      rateWsUpgradesPerMin: 6000,
      acceptTimeoutMs: 120000,
      maxOpenConversations: 10,
      rateConversationsPerMin: 60,
      maxListItems: 10000,
      maxHistoryMessages: 10000,
      requestTimeoutMs: 30000,
      wsHandshakeTimeoutMs: 10000,
      retentionDays: undefined,
      redisClusterNodes: undefined,
    });
  });

  it('treats empty strings as unset for optional values', () => {
    const c = loadConfig({ PORT: '', DATABASE_URL: '', REDIS_URL: '', JWT_SECRET: '', METRICS_TOKEN: '', DATA_DIR: '', TRUST_PROXY: '' });
    assert.equal(c.port, 8000);
    assert.equal(c.databaseUrl, undefined);
    assert.equal(c.redisUrl, undefined);
    assert.equal(c.jwtSecret, undefined);
    assert.equal(c.metricsToken, undefined);
    assert.equal(c.dataDir, resolve('./data'));
    assert.equal(c.trustProxy, false);
  });

  it('reads every variable', () => {
    const c = loadConfig({
      PORT: '9000',
      HOST: '0.0.0.0',
      DATA_DIR: '/tmp/sb-data',
      DATABASE_URL: 'postgres://u@db:5432/sb',
      DATABASE_POOL_SIZE: '25',
      REDIS_URL: 'redis://cache:6379',
      REDIS_PREFIX: 'sb2',
      JWT_SECRET: SECRET,
      ACCESS_TTL_S: '60',
      REFRESH_TTL_S: '3600',
      REP_GRACE_MS: '1000',
      CUSTOMER_GRACE_MS: '2000',
      HEARTBEAT_MS: '500',
      RATE_REGISTER_PER_MIN: '5',
      RATE_TOKEN_PER_MIN: '6',
      WS_FRAMES_PER_S: '7',
      TRUST_PROXY: 'true',
      LOG_LEVEL: 'debug',
      METRICS_TOKEN: 'm',
      NODE_ENV: 'production',
      REP_REGISTRATION: 'open',
      MAX_REP_CAPACITY: '50',
      LOGIN_MAX_FAILURES: '4',
      LOGIN_WINDOW_S: '60',
      HASH_CONCURRENCY: '3',
      HASH_QUEUE: '9',
      REFRESH_FAMILY_TTL_S: '7200',
      MAX_SOCKETS_PER_USER: '3',
      SOCKET_LEASE_MS: '1500',
      MESSAGES_PER_USER_PER_S: '4',
      RATE_WS_UPGRADES_PER_MIN: '5',
      ACCEPT_TIMEOUT_MS: '0',
      MAX_OPEN_CONVERSATIONS: '6',
      RATE_CONVERSATIONS_PER_MIN: '7',
      MAX_LIST_ITEMS: '8',
      MAX_HISTORY_MESSAGES: '9',
      REQUEST_TIMEOUT_MS: '1000',
      WS_HANDSHAKE_TIMEOUT_MS: '2000',
      RETENTION_DAYS: '30',
    });
    assert.deepEqual(c, {
      port: 9000,
      host: '0.0.0.0',
      dataDir: '/tmp/sb-data',
      databaseUrl: 'postgres://u@db:5432/sb',
      databasePoolSize: 25,
      redisUrl: 'redis://cache:6379',
      redisPrefix: 'sb2',
      jwtSecret: SECRET,
      accessTtlS: 60,
      refreshTtlS: 3600,
      repGraceMs: 1000,
      customerGraceMs: 2000,
      heartbeatMs: 500,
      rateRegisterPerMin: 5,
      rateTokenPerMin: 6,
      wsFramesPerS: 7,
      trustProxy: true,
      logLevel: 'debug',
      metricsToken: 'm',
      production: true,
      repRegistration: 'open',
      maxRepCapacity: 50,
      sqliteSynchronous: 'normal',
      widgetOrigins: [],
      loginMaxFailures: 4,
      loginWindowS: 60,
      hashConcurrency: 3,
      hashQueue: 9,
      refreshFamilyTtlS: 7200,
      maxSocketsPerUser: 3,
      socketLeaseMs: 1500,
      messagesPerUserPerS: 4,
      rateWsUpgradesPerMin: 5,
      acceptTimeoutMs: 0,
      maxOpenConversations: 6,
      rateConversationsPerMin: 7,
      maxListItems: 8,
      maxHistoryMessages: 9,
      requestTimeoutMs: 1000,
      wsHandshakeTimeoutMs: 2000,
      retentionDays: 30,
      redisClusterNodes: undefined,
    });
  });

  it('accepts postgresql:// and rediss:// and the usual spellings of booleans', () => {
    assert.equal(loadConfig({ DATABASE_URL: 'postgresql://h/db' }).databaseUrl, 'postgresql://h/db');
    assert.equal(loadConfig({ REDIS_URL: 'rediss://h:6380' }).redisUrl, 'rediss://h:6380');
    for (const v of ['true', 'TRUE', 'yes', 'on']) assert.equal(loadConfig({ TRUST_PROXY: v }).trustProxy, true, v);
    for (const v of ['0', 'false', 'no', 'off']) assert.equal(loadConfig({ TRUST_PROXY: v }).trustProxy, false, v);
    assert.equal(loadConfig({ PORT: '0' }).port, 0, 'port 0 picks a free port');
  });

  const integers = [
    'PORT',
    'DATABASE_POOL_SIZE',
    'ACCESS_TTL_S',
    'REFRESH_TTL_S',
    'REP_GRACE_MS',
    'CUSTOMER_GRACE_MS',
    'HEARTBEAT_MS',
    'RATE_REGISTER_PER_MIN',
    'RATE_TOKEN_PER_MIN',
    'WS_FRAMES_PER_S',
  ];
  for (const name of integers) {
    it(`names ${name} when it is not a non-negative integer`, () => {
      for (const bad of ['abc', '12abc', '-1', '1.5', '1e3', '0x10']) rejects({ [name]: bad }, name);
    });
  }

  it('names each variable whose value is out of range', () => {
    rejects({ PORT: '65536' }, 'PORT');
    rejects({ DATABASE_POOL_SIZE: '0' }, 'DATABASE_POOL_SIZE');
    rejects({ DATABASE_POOL_SIZE: '1001' }, 'DATABASE_POOL_SIZE');
    rejects({ ACCESS_TTL_S: '0' }, 'ACCESS_TTL_S');
    rejects({ REFRESH_TTL_S: '0' }, 'REFRESH_TTL_S');
    rejects({ HEARTBEAT_MS: '99' }, 'HEARTBEAT_MS');
    rejects({ RATE_REGISTER_PER_MIN: '0' }, 'RATE_REGISTER_PER_MIN');
    rejects({ RATE_TOKEN_PER_MIN: '0' }, 'RATE_TOKEN_PER_MIN');
    rejects({ WS_FRAMES_PER_S: '0' }, 'WS_FRAMES_PER_S');
  });

  it('names each other bad value', () => {
    rejects({ DATABASE_URL: 'not a url' }, 'DATABASE_URL');
    rejects({ DATABASE_URL: 'mysql://h/db' }, 'DATABASE_URL');
    rejects({ REDIS_URL: 'http://h' }, 'REDIS_URL');
    rejects({ REDIS_URL: '::::' }, 'REDIS_URL');
    rejects({ TRUST_PROXY: 'maybe' }, 'TRUST_PROXY');
    rejects({ LOG_LEVEL: 'verbose' }, 'LOG_LEVEL');
    rejects({ REDIS_PREFIX: 'has space' }, 'REDIS_PREFIX');
    rejects({ REDIS_PREFIX: 'x'.repeat(65) }, 'REDIS_PREFIX');
    rejects({ REDIS_PREFIX: '{tag}' }, 'REDIS_PREFIX');
    rejects({ JWT_SECRET: 'short' }, 'JWT_SECRET');
    rejects({ HOST: '  ' }, 'HOST');
  });

  it('requires JWT_SECRET when NODE_ENV=production, and only then', () => {
    rejects({ NODE_ENV: 'production' }, 'JWT_SECRET');
    rejects({ NODE_ENV: 'production', JWT_SECRET: '' }, 'JWT_SECRET');
    rejects({ NODE_ENV: 'production', JWT_SECRET: 'too-short' }, 'JWT_SECRET');
    assert.equal(loadConfig({ NODE_ENV: 'production', JWT_SECRET: SECRET, METRICS_TOKEN: 'm' }).jwtSecret, SECRET);
    assert.equal(loadConfig({ NODE_ENV: 'development' }).jwtSecret, undefined);
    assert.equal(loadConfig({ NODE_ENV: 'test' }).production, false);
  });
});

describe('resolveJwtSecret', () => {
  const dirs: string[] = [];
  const tempDir = () => {
    const d = mkdtempSync(join(tmpdir(), 'sb-config-'));
    dirs.push(d);
    return d;
  };
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('uses JWT_SECRET when set and writes nothing', () => {
    const dir = tempDir();
    const c = loadConfig({ DATA_DIR: dir, JWT_SECRET: SECRET });
    assert.equal(resolveJwtSecret(c), SECRET);
    assert.equal(existsSync(join(dir, 'jwt-secret')), false);
  });

  it('generates a secret once under DATA_DIR and reuses it', () => {
    const dir = join(tempDir(), 'nested', 'data');
    const c = loadConfig({ DATA_DIR: dir });
    const first = resolveJwtSecret(c);
    assert.ok(first.length >= 32);
    const file = join(dir, 'jwt-secret');
    assert.equal(readFileSync(file, 'utf8').trim(), first);
    assert.equal(statSync(file).mode & 0o077, 0, 'the secret file is private to its owner');
    assert.equal(resolveJwtSecret(c), first);
    assert.equal(resolveJwtSecret(loadConfig({ DATA_DIR: dir })), first, 'a restart reads the same secret');
    const other = resolveJwtSecret(loadConfig({ DATA_DIR: tempDir() }));
    assert.notEqual(other, first, 'another DATA_DIR gets its own secret');
  });

  it('replaces a secret file that is too short to be safe', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'jwt-secret'), 'short\n');
    const secret = resolveJwtSecret(loadConfig({ DATA_DIR: dir }));
    assert.ok(secret.length >= 32);
    assert.equal(readFileSync(join(dir, 'jwt-secret'), 'utf8').trim(), secret);
  });
});
