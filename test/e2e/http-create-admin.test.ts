// The create-admin script, run as a child process against a temp DATA_DIR (and PostgreSQL when it is
// up); then a real server on that store logs the admin in and sees role admin.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from '../helpers/server.ts';
import { http, registerCustomer, uniqueName } from '../helpers/client.ts';
import { createTempDatabase, requirePostgres } from '../helpers/pg.ts';
import { lockDataDir } from '../../src/store/data-dir-lock.ts';
import { assertClientError } from '../helpers/http-fixtures.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SCRIPT = join(ROOT, 'src', 'cli', 'create-admin.ts');

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the script to completion with a clean store environment plus `env`; `stdin` is piped in (or closed). */
function runCreateAdmin(args: string[], env: Record<string, string>, stdin = ''): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT, ...args], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: '', REDIS_URL: '', ADMIN_PASSWORD: '', NODE_ENV: 'test', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`create-admin did not finish within 30 s; stdout ${stdout} stderr ${stderr}`));
    }, 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(stdin);
  });
}

async function loginAsAdmin(base: string, username: string, password: string) {
  const t = await http(base, 'POST', '/auth/token/', { body: { username, password } });
  assert.equal(t.status, 200, `login ${username}: ${JSON.stringify(t.body)}`);
  const me = await http(base, 'GET', '/api/me/', { token: t.body.access });
  assert.equal(me.status, 200);
  assert.equal(me.body.role, 'admin');
  assert.equal(me.body.user.username, username);
  return { me: me.body, access: t.body.access as string };
}

describe('src/cli/create-admin.ts (embedded SQLite)', () => {
  const dirs: string[] = [];
  const tempDir = () => {
    const d = mkdtempSync(join(tmpdir(), 'sb-admin-'));
    dirs.push(d);
    return d;
  };
  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  test('creates an admin from ADMIN_PASSWORD; a server on that DATA_DIR logs it in with role admin', async () => {
    const dataDir = tempDir();
    const password = 'Adm1n-from-env';
    const r = await runCreateAdmin(['--username', 'root', '--email', 'root@example.com'], { DATA_DIR: dataDir, ADMIN_PASSWORD: password });
    assert.equal(r.code, 0, `stdout: ${r.stdout}\nstderr: ${r.stderr}`);
    assert.match(r.stdout, /root/);
    assert.ok(!r.stdout.includes(password) && !r.stderr.includes(password), 'the password is never printed');

    const server = await startServer({ dataDir });
    try {
      const { me, access } = await loginAsAdmin(server.url, 'root', password);
      assert.equal(me.user.email, 'root@example.com');
      // Admin powers over HTTP: it sees every conversation.
      const c = await registerCustomer(server.url);
      const opened = await http(server.url, 'POST', '/api/conversations/', { token: c.access, body: {} });
      const all = await http(server.url, 'GET', '/api/conversations/', { token: access });
      assert.ok(all.body.some((x: any) => x.id === opened.body.id));
      assertClientError(await http(server.url, 'POST', '/auth/token/', { body: { username: 'root', password: 'wrong' } }), 401);
    } finally {
      await server.stop();
    }
  });

  test('works while a server holds the DATA_DIR, and that server logs the new admin in at once', async () => {
    const dataDir = tempDir();
    const release = lockDataDir(dataDir); // as src/main.ts holds it for the server's life
    const server = await startServer({ dataDir });
    try {
      assert.ok(existsSync(join(dataDir, 'switchboard.lock')));
      const username = uniqueName('live_admin');
      const r = await runCreateAdmin(['--username', username], { DATA_DIR: dataDir, ADMIN_PASSWORD: 'live-pw-1' });
      assert.equal(r.code, 0, `stdout: ${r.stdout}\nstderr: ${r.stderr}`);
      await loginAsAdmin(server.url, username, 'live-pw-1');
      assert.ok(existsSync(join(dataDir, 'switchboard.lock')), 'the script left the server lock alone');
    } finally {
      await server.stop();
      release();
    }
  });

  test('reads the password from the prompt (stdin) when ADMIN_PASSWORD is unset', async () => {
    const dataDir = tempDir();
    const r = await runCreateAdmin(['--username', 'prompted'], { DATA_DIR: dataDir }, 'typed-at-prompt\n');
    assert.equal(r.code, 0, `stdout: ${r.stdout}\nstderr: ${r.stderr}`);
    assert.match(r.stderr, /password/i, 'a prompt was shown');
    assert.ok(!r.stdout.includes('typed-at-prompt') && !r.stderr.includes('typed-at-prompt'));
    const server = await startServer({ dataDir });
    try {
      await loginAsAdmin(server.url, 'prompted', 'typed-at-prompt');
    } finally {
      await server.stop();
    }
  });

  test('refuses a password given as an argument, without echoing it, and creates nothing', async () => {
    const dataDir = tempDir();
    for (const args of [
      ['--username', 'argadmin', '--password', 'hunter2-arg'],
      ['--username', 'argadmin', '--password=hunter2-arg'],
      ['--username', 'argadmin', '-p', 'hunter2-arg'],
    ]) {
      const r = await runCreateAdmin(args, { DATA_DIR: dataDir, ADMIN_PASSWORD: 'env-pw-1' });
      assert.notEqual(r.code, 0, args.join(' '));
      assert.match(r.stderr, /ADMIN_PASSWORD/, 'the message says where the password goes');
      assert.match(r.stderr, /argument/i);
      assert.ok(!r.stderr.includes('hunter2-arg') && !r.stdout.includes('hunter2-arg'), 'the argument is not echoed');
    }
    const server = await startServer({ dataDir });
    try {
      assertClientError(await http(server.url, 'POST', '/auth/token/', { body: { username: 'argadmin', password: 'env-pw-1' } }), 401);
      assertClientError(await http(server.url, 'POST', '/auth/token/', { body: { username: 'argadmin', password: 'hunter2-arg' } }), 401);
    } finally {
      await server.stop();
    }
  });

  test('a missing or invalid username, an empty password, or a taken username fail with a clear message', async () => {
    const dataDir = tempDir();
    const missing = await runCreateAdmin([], { DATA_DIR: dataDir, ADMIN_PASSWORD: 'x-pw' });
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /--username/);

    const invalid = await runCreateAdmin(['--username', 'bad name!'], { DATA_DIR: dataDir, ADMIN_PASSWORD: 'x-pw' });
    assert.notEqual(invalid.code, 0);
    assert.match(invalid.stderr, /username/i);

    const noPassword = await runCreateAdmin(['--username', 'nopw'], { DATA_DIR: dataDir }, '');
    assert.notEqual(noPassword.code, 0);
    assert.match(noPassword.stderr, /password/i);

    assert.equal((await runCreateAdmin(['--username', 'twice'], { DATA_DIR: dataDir, ADMIN_PASSWORD: 'first-pw' })).code, 0);
    const again = await runCreateAdmin(['--username', 'twice'], { DATA_DIR: dataDir, ADMIN_PASSWORD: 'second-pw' });
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /already exists/);
    // Usernames are one name after case folding, here as at registration.
    const otherCase = await runCreateAdmin(['--username', 'TWICE'], { DATA_DIR: dataDir, ADMIN_PASSWORD: 'third-pw' });
    assert.notEqual(otherCase.code, 0);
    assert.match(otherCase.stderr, /already exists/);

    const server = await startServer({ dataDir });
    try {
      await loginAsAdmin(server.url, 'twice', 'first-pw');
      assertClientError(await http(server.url, 'POST', '/auth/token/', { body: { username: 'twice', password: 'second-pw' } }), 401);
      assertClientError(await http(server.url, 'POST', '/auth/token/', { body: { username: 'nopw', password: '' } }), 400);
    } finally {
      await server.stop();
    }
  });

  test('a bad configuration value stops it, naming the variable', async () => {
    const r = await runCreateAdmin(['--username', 'cfg'], { DATA_DIR: tempDir(), ADMIN_PASSWORD: 'x-pw', DATABASE_URL: 'mysql://nope' });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /DATABASE_URL/);
  });
});

const pgSkip = await requirePostgres();

describe('src/cli/create-admin.ts (PostgreSQL)', { skip: pgSkip }, () => {
  test('creates the admin on DATABASE_URL; a server on that database logs it in', async () => {
    const db = await createTempDatabase('sbadmin');
    const dataDir = mkdtempSync(join(tmpdir(), 'sb-admin-pg-'));
    try {
      const r = await runCreateAdmin(['--username', 'pgroot'], { DATA_DIR: dataDir, DATABASE_URL: db.url, ADMIN_PASSWORD: 'pg-admin-pw' });
      assert.equal(r.code, 0, `stdout: ${r.stdout}\nstderr: ${r.stderr}`);
      const server = await startServer({ dataDir, databaseUrl: db.url });
      try {
        await loginAsAdmin(server.url, 'pgroot', 'pg-admin-pw');
      } finally {
        await server.stop();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
      await db.drop();
    }
  });
});
