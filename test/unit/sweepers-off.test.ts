// The two background passes that delete or move data stay off when their variable says so: ACCEPT_TIMEOUT_MS=0
// never requeues, and RETENTION_DAYS unset (the default) never deletes. The timers are mocked, so hours pass
// at once; a fake store records what each pass asks.
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import { AcceptTimeout } from '../../src/services/accept-timeout.ts';
import { RetentionSweeper } from '../../src/services/retention.ts';
import type { ServiceContext } from '../../src/services/context.ts';

const HOUR = 3_600_000;

function fakeContext() {
  const calls = { unopened: 0, deleteClosedBefore: 0 };
  const ctx = {
    now: () => Date.now(),
    store: {
      unopened: async () => {
        calls.unopened++;
        return [];
      },
      retention: {
        deleteClosedBefore: async () => {
          calls.deleteClosedBefore++;
          return 0;
        },
      },
    },
  } as unknown as ServiceContext;
  return { ctx, calls };
}

const fail = (err: unknown) => assert.fail(String(err));

describe('background passes switched off', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setInterval', 'setTimeout'] }));
  afterEach(() => mock.timers.reset());

  it('ACCEPT_TIMEOUT_MS=0 never looks for unopened chats; a positive one does', () => {
    const off = fakeContext();
    const offPass = new AcceptTimeout(off.ctx, 0, fail);
    offPass.start();
    const on = fakeContext();
    const onPass = new AcceptTimeout(on.ctx, 2000, fail);
    onPass.start();
    mock.timers.tick(HOUR);
    offPass.stop();
    onPass.stop();
    assert.equal(off.calls.unopened, 0);
    assert.ok(on.calls.unopened > 0);
  });

  it('RETENTION_DAYS unset never deletes; set, it runs at start and then hourly', async () => {
    const off = fakeContext();
    const offSweeper = new RetentionSweeper(off.ctx, undefined, fail);
    offSweeper.start();
    const on = fakeContext();
    const onSweeper = new RetentionSweeper(on.ctx, 30, fail);
    onSweeper.start();
    mock.timers.tick(1000);
    // Let the first pass's promise settle before the next tick, or the next one is skipped as still running.
    await new Promise((resolve) => setImmediate(resolve));
    mock.timers.tick(HOUR);
    await new Promise((resolve) => setImmediate(resolve));
    offSweeper.stop();
    onSweeper.stop();
    assert.equal(off.calls.deleteClosedBefore, 0);
    assert.equal(on.calls.deleteClosedBefore, 2);
  });
});
