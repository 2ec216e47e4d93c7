// Timer settings: bounded to what Node timers can hold, and presence stamps frequent enough for the grace.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig, ConfigError } from '../../src/config.ts';
import { presenceIntervals } from '../../src/realtime/redis-presence.ts';

describe('timer settings', () => {
  it('refuses a grace or heartbeat longer than a Node timer can hold, naming the variable', () => {
    for (const name of ['HEARTBEAT_MS', 'REP_GRACE_MS', 'CUSTOMER_GRACE_MS']) {
      assert.throws(() => loadConfig({ [name]: '3000000000' }), (err: unknown) => err instanceof ConfigError && err.variable === name);
      assert.doesNotThrow(() => loadConfig({ [name]: '2147483647' }));
    }
  });

  it('stamps presence at least four times per grace period, within sane bounds', () => {
    assert.deepEqual(presenceIntervals(30_000, 120_000), { refreshMs: 1000, sweepMs: 250 });
    assert.deepEqual(presenceIntervals(500, 120_000), { refreshMs: 125, sweepMs: 62 });
    assert.deepEqual(presenceIntervals(0, 0), { refreshMs: 50, sweepMs: 25 });
  });
});
