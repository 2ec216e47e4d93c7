// The SQLite store copies its WAL back into the database from a worker thread, so that checkpoint fsyncs
// never stall the event loop. The worker must actually start under the loader the server runs with
// (`node --import tsx`, as `npm start` and these tests do): a TypeScript entry point does not load in a
// worker there, and the store then fell back, silently, to checkpoints on the event loop every 1000 pages.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { openSqlite } from '../../src/store/open.ts';

describe('SQLite checkpoint worker', () => {
  it('checkpoints a small WAL into the database from its thread, with no failure reported', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-ckpt-'));
    const file = join(dir, 'switchboard.sqlite3');
    const failures: unknown[] = [];
    const store = await openSqlite({ file, onCheckpointerFailure: (err) => failures.push(err) });
    // A second connection that never checkpoints itself writes ~60 pages: far below any autocheckpoint
    // threshold, so only the worker can move them into the database file.
    const other = new SQLite(file);
    try {
      other.pragma('wal_autocheckpoint = 0');
      await new Promise((r) => setTimeout(r, 1200)); // the migrations' pages are checkpointed first
      const before = statSync(file).size;
      other.exec('create table scratch (id integer primary key, body text)');
      const insert = other.prepare('insert into scratch (body) values (?)');
      other.transaction(() => {
        for (let i = 0; i < 200; i++) insert.run('x'.repeat(1000));
      })();
      let after = before;
      for (let waited = 0; waited < 5000 && after <= before; waited += 100) {
        await new Promise((r) => setTimeout(r, 100));
        after = statSync(file).size;
      }
      assert.deepEqual(failures, [], 'the worker reported no failure');
      assert.ok(after >= before + 150 * 1024, `the database file grew by the checkpointed pages (${before} -> ${after} bytes)`);
    } finally {
      other.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('starts when the server process preloads TypeScript of its own (a probe, an instrumentation)', () => {
    // A worker inherits the parent's node flags by default, and a .ts preload cannot load in it.
    const dir = mkdtempSync(join(tmpdir(), 'sb-ckpt-'));
    try {
      const preload = join(dir, 'preload.ts');
      writeFileSync(preload, 'export const loaded: boolean = true;\n');
      const script = join(dir, 'open.mts');
      const openTs = new URL('../../src/store/open.ts', import.meta.url).href;
      writeFileSync(
        script,
        `import { openSqlite } from ${JSON.stringify(openTs)};
         const failures = [];
         const store = await openSqlite({ file: ${JSON.stringify(join(dir, 'db.sqlite3'))}, onCheckpointerFailure: (e) => failures.push(String(e)) });
         await new Promise((r) => setTimeout(r, 1500));
         await store.close();
         console.log(JSON.stringify(failures));`,
      );
      const run = spawnSync(process.execPath, ['--import', 'tsx', '--import', preload, script], { encoding: 'utf8', timeout: 30_000 });
      assert.equal(run.status, 0, run.stderr);
      assert.deepEqual(JSON.parse(run.stdout.trim().split('\n').pop()!), []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
