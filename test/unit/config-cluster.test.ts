// REDIS_CLUSTER_NODES: seed nodes of a Redis Cluster, instead of REDIS_URL.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '../../src/config.ts';

describe('REDIS_CLUSTER_NODES', () => {
  it('reads host:port seed nodes, comma separated', () => {
    const c = loadConfig({ REDIS_CLUSTER_NODES: 'r1:7000, 10.0.0.2:7001,[::1]:7002' });
    assert.deepEqual(c.redisClusterNodes, [
      { host: 'r1', port: 7000 },
      { host: '10.0.0.2', port: 7001 },
      { host: '::1', port: 7002 },
    ]);
    assert.equal(c.redisUrl, undefined);
  });

  it('is unset when empty', () => {
    assert.equal(loadConfig({ REDIS_CLUSTER_NODES: ' ' }).redisClusterNodes, undefined);
  });

  for (const bad of ['r1', 'r1:0', 'r1:70000', 'redis://r1:7000', 'r1:7000,,r2:7000', 'r1:70a']) {
    it(`refuses "${bad}", naming the variable`, () => {
      assert.throws(
        () => loadConfig({ REDIS_CLUSTER_NODES: bad }),
        (err: unknown) => err instanceof ConfigError && err.variable === 'REDIS_CLUSTER_NODES',
      );
    });
  }

  it('refuses REDIS_URL and REDIS_CLUSTER_NODES together', () => {
    assert.throws(
      () => loadConfig({ REDIS_URL: 'redis://r:6379', REDIS_CLUSTER_NODES: 'r1:7000' }),
      (err: unknown) => err instanceof ConfigError && err.variable === 'REDIS_CLUSTER_NODES' && /not both/.test(err.message),
    );
  });
});
