// The process shell: one instance per DATA_DIR or per PostgreSQL without Redis, config errors name the
// variable, and SIGTERM drains with 1012 and exit code 0.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startInstance } from '../helpers/processes.ts';
import { createTempDatabase, requirePostgres } from '../helpers/pg.ts';
import { chatPath, connect, openConversation, registerCustomer, registerRep } from '../helpers/client.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function runOnce(env: Record<string, string>) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts'], { cwd: ROOT, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 30_000 });
}

describe('process', () => {
  it('refuses a bad configuration value, naming the variable', () => {
    for (const [name, value] of [['PORT', 'eighty'], ['REP_GRACE_MS', '-5'], ['DATABASE_URL', 'mysql://x'], ['TRUST_PROXY', 'maybe'], ['LOG_LEVEL', 'loud']]) {
      const r = runOnce({ [name]: value, DATA_DIR: mkdtempSync(join(tmpdir(), 'sb-cfg-')) });
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, new RegExp(name), `${name}=${value}: ${r.stderr}`);
    }
    const prod = runOnce({ NODE_ENV: 'production', JWT_SECRET: '', DATA_DIR: mkdtempSync(join(tmpdir(), 'sb-cfg-')) });
    assert.notEqual(prod.status, 0);
    assert.match(prod.stderr, /JWT_SECRET/);
  });

  it('refuses a second process on the same DATA_DIR with a clear message', { timeout: 60_000 }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'sb-lock-'));
    const first = await startInstance({ DATA_DIR: dataDir });
    try {
      const second = runOnce({ DATA_DIR: dataDir, PORT: '0' });
      assert.notEqual(second.status, 0);
      assert.match(second.stderr, /REDIS_URL|another switchboard process/i);
    } finally {
      first.kill('SIGTERM');
      assert.equal(await first.exited, 0);
    }
    // The lock goes with the process: a new one starts fine.
    const third = await startInstance({ DATA_DIR: dataDir });
    third.kill('SIGTERM');
    assert.equal(await third.exited, 0);
  });

  it('refuses a second process on the same PostgreSQL without REDIS_URL', { timeout: 60_000 }, async (t) => {
    const skip = await requirePostgres();
    if (skip) return t.skip(skip);
    const db = await createTempDatabase();
    try {
      const first = await startInstance({ DATABASE_URL: db.url });
      try {
        const second = runOnce({ DATABASE_URL: db.url, PORT: '0', DATA_DIR: mkdtempSync(join(tmpdir(), 'sb-pg2-')) });
        assert.notEqual(second.status, 0);
        assert.match(second.stderr, /set REDIS_URL to run several instances/i);
      } finally {
        first.kill('SIGTERM');
        await first.exited;
      }
    } finally {
      await db.drop();
    }
  });

  it('drains on SIGTERM: sockets get 1012 and the process exits 0, with every acknowledged message kept', { timeout: 60_000 }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'sb-drain-'));
    const inst = await startInstance({ DATA_DIR: dataDir });
    const rep = await registerRep(inst.url, 1);
    const cust = await registerCustomer(inst.url);
    const conv = await openConversation(inst.url, cust);
    const ws = connect(inst.wsUrl, chatPath(conv), { token: cust.access });
    await ws.waitType('assigned');
    for (let i = 1; i <= 20; i++) ws.send({ type: 'message', text: `m${i}`, client_id: `c${i}` });
    await ws.waitFor((f) => f.type === 'message' && f.seq === 5);
    inst.kill('SIGTERM');
    assert.equal(await ws.waitClose(10_000), 1012);
    assert.equal(await inst.exited, 0);
    const acked = ws.ofType('message').map((f) => f.client_id);
    const back = await startInstance({ DATA_DIR: dataDir });
    try {
      const again = connect(back.wsUrl, chatPath(conv), { token: cust.access, query: 'last_seq=0' });
      await again.opened;
      await again.waitFor((f) => f.type === 'message' && f.seq === acked.length, 5000);
      const stored = again.ofType('message').map((f) => f.client_id);
      for (const id of acked) assert.ok(stored.includes(id), `acknowledged ${id} was kept`);
      assert.deepEqual(again.ofType('message').map((f) => f.seq), stored.map((_, i) => i + 1), 'gapless');
      again.close();
      void rep;
    } finally {
      back.kill('SIGTERM');
      await back.exited;
    }
  });
});
