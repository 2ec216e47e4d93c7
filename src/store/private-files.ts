// DATA_DIR holds the database, the generated JWT secret and the lock file: only the service's user may read it.
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';

/** Creates the directory (and missing parents) with mode 0700. An existing directory is left as the operator set it. */
export function makePrivateDir(dir: string): void {
  const created = mkdirSync(dir, { recursive: true, mode: 0o700 });
  // The mode given to mkdir is filtered by the umask; set it outright on what we just created.
  if (created !== undefined) chmodSync(dir, 0o700);
}

/**
 * Creates the file with mode 0600 if it is missing, and narrows it to 0600 if it exists. SQLite gives its -wal
 * and -shm files the mode of the database file, so this covers them as they are created.
 */
export function makePrivateFile(file: string): void {
  if (!existsSync(file)) closeSync(openSync(file, 'a', 0o600));
  chmodSync(file, 0o600);
  for (const side of [`${file}-wal`, `${file}-shm`]) if (existsSync(side)) chmodSync(side, 0o600);
}
