// Configuration of the account protections: who may register a rep and the capacity cap.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '../../src/config.ts';

const SECRET = 'x'.repeat(32);

function rejects(env: Record<string, string>, variable: string): void {
  assert.throws(() => loadConfig(env), (err: unknown) => err instanceof ConfigError && err.variable === variable);
}

describe('account protection settings', () => {
  it('REP_REGISTRATION defaults to admin in production and open elsewhere; a bad value is refused', () => {
    assert.equal(loadConfig({}).repRegistration, 'open');
    assert.equal(loadConfig({ NODE_ENV: 'production', JWT_SECRET: SECRET, METRICS_TOKEN: 'm'.repeat(32) }).repRegistration, 'admin');
    assert.equal(loadConfig({ NODE_ENV: 'production', JWT_SECRET: SECRET, METRICS_TOKEN: 'm'.repeat(32), REP_REGISTRATION: 'open' }).repRegistration, 'open');
    assert.equal(loadConfig({ REP_REGISTRATION: 'ADMIN' }).repRegistration, 'admin');
    rejects({ REP_REGISTRATION: 'closed' }, 'REP_REGISTRATION');
  });

  it('password hashing is bounded in production; elsewhere a burst waits, as in the original', () => {
    const prod = loadConfig({ NODE_ENV: 'production', JWT_SECRET: SECRET, METRICS_TOKEN: 'm'.repeat(32) });
    assert.deepEqual([prod.hashConcurrency, prod.hashQueue], [2, 128]);
    const dev = loadConfig({});
    assert.deepEqual([dev.hashConcurrency, dev.hashQueue], [4, 100_000]);
  });

  it('a shared message budget per user is on in production (20/s) and off elsewhere, as in the original', () => {
    assert.equal(loadConfig({ NODE_ENV: 'production', JWT_SECRET: SECRET, METRICS_TOKEN: 'm'.repeat(32) }).messagesPerUserPerS, 20);
    assert.equal(loadConfig({}).messagesPerUserPerS, 0);
    assert.equal(loadConfig({ MESSAGES_PER_USER_PER_S: '7' }).messagesPerUserPerS, 7);
  });

  it('MAX_REP_CAPACITY defaults to 100, within 1-10000', () => {
    assert.equal(loadConfig({}).maxRepCapacity, 100);
    assert.equal(loadConfig({ MAX_REP_CAPACITY: '7' }).maxRepCapacity, 7);
    rejects({ MAX_REP_CAPACITY: '0' }, 'MAX_REP_CAPACITY');
    rejects({ MAX_REP_CAPACITY: '10001' }, 'MAX_REP_CAPACITY');
    rejects({ MAX_REP_CAPACITY: 'many' }, 'MAX_REP_CAPACITY');
  });
});
