// Runs in a worker thread: copies the SQLite WAL back into the database every second (PASSIVE, so it
// never waits for or blocks the writer), keeping checkpoint fsyncs off the server's event loop.
import { parentPort, workerData } from 'node:worker_threads';
import SQLite from 'better-sqlite3';

const { file, intervalMs } = workerData as { file: string; intervalMs: number };
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
