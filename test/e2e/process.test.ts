// The process shell: one instance per DATA_DIR or per PostgreSQL without Redis, config errors name the
// variable, and SIGTERM drains with 1012 and exit code 0.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runToExit, startInstance } from '../helpers/processes.ts';
import { createTempDatabase, requirePostgres } from '../helpers/pg.ts';
import { chatPath, connect, openConversation, registerCustomer, registerRep } from '../helpers/client.ts';

/** The accept queue of the socket listening on `port`, as the kernel reports it (`ss`: Send-Q of a LISTEN socket). */
function listenBacklog(port: number): number | string {
  let out: string;
  try {
    out = execFileSync('ss', ['-Hltn', `sport = :${port}`], { encoding: 'utf8' });
  } catch (err) {
    return `ss failed (${(err as Error).message.split('\n')[0]}): install iproute2`;
  }
  const cols = out.trim().split(/\s+/);
  return cols[0] === 'LISTEN' ? Number(cols[2]) : `no LISTEN socket on ${port} in: ${out}`;
}

// The exit codes main.ts documents: 2 for a configuration error, 3 for a refused second instance. A
// timeout or a crash (exit 1) is neither, so it fails these cases.
const CONFIG_ERROR = 2;
const INSTANCE_REFUSED = 3;

describe('process', () => {
  it('refuses a bad configuration value, naming the variable', { timeout: 180_000 }, async () => {
    const cases: Array<[Record<string, string>, string]> = [
      ...[['PORT', 'eighty'], ['REP_GRACE_MS', '-5'], ['DATABASE_URL', 'mysql://x'], ['TRUST_PROXY', 'maybe'], ['LOG_LEVEL', 'loud']].map(([name, value]): [Record<string, string>, string] => [{ [name]: value }, name]),
      [{ NODE_ENV: 'production', JWT_SECRET: '' }, 'JWT_SECRET'],
    ];
    // Side by side: each start costs seconds of TypeScript loading on a busy machine.
    const results = await Promise.all(cases.map(([env]) => runToExit({ ...env, DATA_DIR: mkdtempSync(join(tmpdir(), 'sb-cfg-')) }, 120_000)));
    results.forEach((r, i) => {
      const [env, name] = cases[i];
      assert.equal(r.code, CONFIG_ERROR, `${JSON.stringify(env)}: ${r.output}`);
      assert.match(r.stderr, new RegExp(name), `${JSON.stringify(env)}: ${r.stderr}`);
    });
  });

  it('refuses a second process on the same DATA_DIR with a clear message', { timeout: 60_000 }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'sb-lock-'));
    const first = await startInstance({ DATA_DIR: dataDir });
    try {
      const second = await runToExit({ DATA_DIR: dataDir, PORT: '0' });
      assert.equal(second.code, INSTANCE_REFUSED, second.output);
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
        const second = await runToExit({ DATABASE_URL: db.url, PORT: '0', DATA_DIR: mkdtempSync(join(tmpdir(), 'sb-pg2-')) });
        assert.equal(second.code, INSTANCE_REFUSED, second.output);
        assert.match(second.stderr, /set REDIS_URL to run several instances/i);
      } finally {
        first.kill('SIGTERM');
        await first.exited;
      }
    } finally {
      await db.drop();
    }
  });

  it('listens with an accept queue a connect storm fits in (4096, or the kernel cap), not the default 511', { timeout: 60_000 }, async (t) => {
    const inst = await startInstance({});
    try {
      const cap = Number(readFileSync('/proc/sys/net/core/somaxconn', 'utf8'));
      const backlog = listenBacklog(inst.port);
      // Outside CI a machine without iproute2 skips, loudly; under CI=true it fails.
      if (typeof backlog === 'string' && backlog.startsWith('ss failed') && process.env.CI !== 'true') return t.skip(backlog);
      assert.equal(backlog, Math.min(4096, cap));
    } finally {
      inst.kill('SIGTERM');
      await inst.exited;
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
