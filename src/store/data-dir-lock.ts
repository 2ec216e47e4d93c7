// The lock file that keeps a second embedded-mode process off the same DATA_DIR.
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { makePrivateDir } from './private-files.ts';

export class InstanceLockError extends Error {}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes DATA_DIR/switchboard.lock; a lock left by a dead process is taken over. Returns the release function. */
export function lockDataDir(dataDir: string): () => void {
  makePrivateDir(dataDir);
  const file = join(dataDir, 'switchboard.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        try {
          unlinkSync(file);
        } catch {
          /* already gone */
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number(readFileSync(file, 'utf8').trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
        throw new InstanceLockError(
          `Another Switchboard process (pid ${pid}) is using ${dataDir}. The embedded mode runs one instance per DATA_DIR; ` +
            'set DATABASE_URL and REDIS_URL to run several instances.',
        );
      }
      unlinkSync(file);
    }
  }
  throw new InstanceLockError(`Could not take the lock file in ${dataDir}.`);
}
