// Tells a supervising parent process (one that spawned us with an IPC channel) which port we bound, so it
// can start us with PORT=0 instead of guessing a free port that another process may take first.
import type { AddressInfo } from 'node:net';

export function reportListening(address: string | AddressInfo | null): void {
  if (!process.send || !address || typeof address === 'string') return;
  process.send({ type: 'listening', port: address.port });
  // The channel must not keep the process alive once a drain has closed everything else.
  process.channel?.unref();
}
