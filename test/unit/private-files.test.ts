// DATA_DIR and the SQLite file are private to the service's user: 0700 and 0600 when the service creates them.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqlite } from '../../src/store/open.ts';
import { lockDataDir } from '../../src/store/data-dir-lock.ts';
import { loadConfig, resolveJwtSecret } from '../../src/config.ts';

const mode = (p: string) => statSync(p).mode & 0o777;

describe('private DATA_DIR', () => {
  it('the lock, the generated secret and the store each create DATA_DIR with 0700; the database file is 0600 (its WAL too)', async () => {
    const root = mkdtempSync(join(tmpdir(), 'sb-perm-'));
    const prev = process.umask(0o022);
    try {
      const a = join(root, 'a', 'data');
      lockDataDir(a)();
      assert.equal(mode(a).toString(8), '700', 'lockDataDir');

      const b = join(root, 'b');
      resolveJwtSecret(loadConfig({ DATA_DIR: b }));
      assert.equal(mode(b).toString(8), '700', 'resolveJwtSecret');
      assert.equal(mode(join(b, 'jwt-secret')).toString(8), '600');

      const c = join(root, 'c');
      const file = join(c, 'switchboard.sqlite3');
      const store = await openSqlite({ file });
      try {
        assert.equal(mode(c).toString(8), '700', 'openSqlite');
        assert.equal(mode(file).toString(8), '600', 'the database file');
        assert.equal(mode(`${file}-wal`).toString(8), '600', 'the WAL file');
      } finally {
        await store.close();
      }
    } finally {
      process.umask(prev);
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('an existing database file with a wider mode is narrowed to 0600 at open', async () => {
    const root = mkdtempSync(join(tmpdir(), 'sb-perm-'));
    try {
      const file = join(root, 'switchboard.sqlite3');
      await (await openSqlite({ file })).close();
      const { chmodSync } = await import('node:fs');
      chmodSync(file, 0o644);
      const store = await openSqlite({ file });
      assert.equal(mode(file).toString(8), '600');
      await store.close();
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
