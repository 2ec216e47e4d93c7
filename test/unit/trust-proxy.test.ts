// TRUST_PROXY: which X-Forwarded-For hops a deployment believes. A bad value names the variable.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig, ConfigError } from '../../src/config.ts';

const trust = (v: string) => loadConfig({ TRUST_PROXY: v }).trustProxy;

describe('TRUST_PROXY', () => {
  it('keeps true and false as before: believe every hop, or none', () => {
    assert.equal(trust('true'), true);
    assert.equal(trust('false'), false);
    assert.equal(trust(''), false);
  });

  it('takes a hop count (0 believes nothing)', () => {
    assert.equal(trust('1'), 1);
    assert.equal(trust('2'), 2);
    assert.equal(trust('0'), false);
  });

  it('takes a list of proxy addresses, CIDRs and named ranges', () => {
    assert.deepEqual(trust('10.0.0.5'), ['10.0.0.5']);
    assert.deepEqual(trust(' 172.16.0.0/12, fd00::/8 ,loopback'), ['172.16.0.0/12', 'fd00::/8', 'loopback']);
    assert.deepEqual(trust('::1'), ['::1']);
  });

  it('refuses anything else, naming the variable', () => {
    for (const bad of ['maybe', '10.0.0.300', '10.0.0.0/33', 'fd00::/129', '10.0.0.0/x', '10.0.0.0/8/1', '33', 'example.com']) {
      assert.throws(
        () => trust(bad),
        (err: unknown) => err instanceof ConfigError && err.variable === 'TRUST_PROXY',
        bad,
      );
    }
  });
});
