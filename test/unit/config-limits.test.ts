// The limits on sockets, the queue and storage: defaults, and a clear error naming a bad variable.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '../../src/config.ts';

function rejects(env: Record<string, string>, variable: string) {
  assert.throws(() => loadConfig(env), (err: unknown) => err instanceof ConfigError && err.variable === variable);
}

describe('limit settings', () => {
  it('RETENTION_DAYS is unset by default (keep everything) and at least 1 when set', () => {
    assert.equal(loadConfig({}).retentionDays, undefined);
    assert.equal(loadConfig({ RETENTION_DAYS: ' ' }).retentionDays, undefined);
    assert.equal(loadConfig({ RETENTION_DAYS: '90' }).retentionDays, 90);
    rejects({ RETENTION_DAYS: '0' }, 'RETENTION_DAYS');
    rejects({ RETENTION_DAYS: 'forever' }, 'RETENTION_DAYS');
  });

  it('ACCEPT_TIMEOUT_MS, REQUEST_TIMEOUT_MS and MESSAGES_PER_USER_PER_S take 0 for off; the caps take at least 1', () => {
    assert.equal(loadConfig({ ACCEPT_TIMEOUT_MS: '0' }).acceptTimeoutMs, 0);
    assert.equal(loadConfig({ MESSAGES_PER_USER_PER_S: '0' }).messagesPerUserPerS, 0);
    rejects({ MESSAGES_PER_USER_PER_S: '-1' }, 'MESSAGES_PER_USER_PER_S');
    assert.equal(loadConfig({ REQUEST_TIMEOUT_MS: '0' }).requestTimeoutMs, 0);
    for (const v of ['MAX_SOCKETS_PER_USER', 'RATE_WS_UPGRADES_PER_MIN', 'MAX_OPEN_CONVERSATIONS', 'RATE_CONVERSATIONS_PER_MIN', 'MAX_LIST_ITEMS', 'MAX_HISTORY_MESSAGES']) {
      rejects({ [v]: '0' }, v);
      rejects({ [v]: '-1' }, v);
    }
    rejects({ WS_HANDSHAKE_TIMEOUT_MS: '10' }, 'WS_HANDSHAKE_TIMEOUT_MS');
  });
});
