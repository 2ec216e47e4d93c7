// The rep side of a queue drain, shared by the single-instance and scaled suites: each rep closes the chats
// it holds over their sockets, until it holds none and nobody waits. A close counts only when the server
// confirmed it (a `closed` frame, then close code 1000); a close that failed (its instance died) is retried.
import { chatPath, connect, type Account } from './client.ts';

export interface DrainOptions {
  reps: Account[];
  /** The conversations `rep` holds now (read from the store). */
  heldBy(rep: Account): Promise<string[]>;
  /** Whether anyone still waits (queued or new). */
  nobodyWaits(): Promise<boolean>;
  /** The socket base for the next close (a live instance). */
  wsUrl(): string;
  /** Closes one rep's chats side by side (default) or one by one. */
  parallel?: boolean;
  /** Called after each confirmed close with the running count (fault tests act on it). */
  onClosed?(closes: number): Promise<void> | void;
  /** Gives up (and throws) after this long. */
  timeoutMs: number;
}

/** Closes one chat as its rep; true when the server confirmed the close. */
export async function closeAsRep(wsUrl: string, rep: Account, conversationId: string): Promise<boolean> {
  const ws = connect(wsUrl, chatPath(conversationId), { token: rep.access });
  try {
    await ws.opened;
    ws.send({ type: 'close' });
    const code = await ws.waitClose(10_000);
    return code === 1000 && ws.ofType('closed').length === 1;
  } catch {
    ws.ws.terminate();
    return false;
  }
}

/** Returns the number of confirmed closes. */
export async function drainByClosing(o: DrainOptions): Promise<number> {
  const deadline = Date.now() + o.timeoutMs;
  let closes = 0;
  const confirm = async (ok: boolean) => {
    if (!ok) return;
    closes++;
    await o.onClosed?.(closes);
  };
  const worker = async (rep: Account) => {
    for (;;) {
      if (Date.now() > deadline) throw new Error(`drain not done within ${o.timeoutMs} ms (${closes} closes)`);
      const held = await o.heldBy(rep);
      if (held.length === 0) {
        if (await o.nobodyWaits()) return;
        await new Promise((res) => setTimeout(res, 20));
        continue;
      }
      if (o.parallel !== false) {
        const results = await Promise.all(held.map((conv) => closeAsRep(o.wsUrl(), rep, conv)));
        for (const ok of results) await confirm(ok);
      } else {
        for (const conv of held) await confirm(await closeAsRep(o.wsUrl(), rep, conv));
      }
    }
  };
  await Promise.all(o.reps.map(worker));
  return closes;
}
