// Runs in a worker thread: copies the SQLite WAL back into the database every `intervalMs` (PASSIVE, so it
// never waits for or blocks the writer), keeping checkpoints and their fsyncs off the server's event loop.
// Plain JavaScript on purpose: a worker thread does not inherit the TypeScript loader the server may run
// under (`node --import tsx`), so a .ts entry point fails to load there and the checkpoints would silently
// fall back to the event loop.
import { parentPort, workerData } from 'node:worker_threads';
import SQLite from 'better-sqlite3';

const { file, intervalMs } = workerData;
const db = new SQLite(file);
db.pragma('busy_timeout = 0');
const timer = setInterval(() => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch {
    // Busy or closing: the next tick tries again, and the writer's autocheckpoint still bounds the WAL.
  }
}, intervalMs);
parentPort?.on('message', (msg) => {
  if (msg !== 'stop') return;
  clearInterval(timer);
  try {
    db.close();
  } finally {
    parentPort?.close();
  }
});
