// Tabs that open while the other participant is sending: each must get every message sent after it
// opened, with no gap and no repeat, and a tab still being set up when the last message is stored must
// find that message itself (no later one would reveal the gap). Used on one instance and across several.
import assert from 'node:assert/strict';
import type { TestSocket } from './client.ts';

export interface MidStreamCase {
  /** The rep's socket: the only sender, so the k-th message it sends gets seq k. */
  rep: TestSocket;
  /** Opens the customer's n-th new tab. */
  openTab: (n: number) => TestSocket;
  total: number;
  tabs: number;
  /** The sender pauses `pauseMs` after every `burst` messages; a tab opens every `spacingMs`. */
  burst: number;
  pauseMs: number;
  spacingMs: number;
}

export async function tabsOpenMidStream(c: MidStreamCase): Promise<void> {
  let sent = 0;
  const sending = (async () => {
    for (let i = 1; i <= c.total; i++) {
      c.rep.send({ type: 'message', text: `s${i}` });
      sent = i;
      if (i % c.burst === 0) await new Promise((res) => setTimeout(res, c.pauseMs));
    }
  })();
  const tabs: Array<{ sock: TestSocket; sentAtOpen: number }> = [];
  for (let t = 0; t < c.tabs; t++) {
    const tab = { sock: c.openTab(t), sentAtOpen: 0 };
    tabs.push(tab);
    tab.sock.opened.then(() => (tab.sentAtOpen = sent));
    await new Promise((res) => setTimeout(res, c.spacingMs));
  }
  await sending;
  await c.rep.waitFor((f) => f.type === 'message' && f.seq === c.total, 30_000);
  for (const [i, { sock, sentAtOpen }] of tabs.entries()) {
    await sock.waitFor((f) => f.type === 'message' && f.seq === c.total, 15_000);
    const seqs = sock.ofType('message').map((f) => f.seq);
    const start = seqs[0] ?? c.total + 1;
    assert.ok(start <= sentAtOpen + 1, `tab ${i} gets every message sent after it opened (${start} > ${sentAtOpen + 1})`);
    assert.deepEqual(seqs, Array.from({ length: c.total - start + 1 }, (_, k) => start + k), `tab ${i}: no gap, no repeat`);
    sock.close();
  }
  for (let k = 1; k <= 12; k++) {
    const tab = c.openTab(k);
    await tab.opened;
    c.rep.send({ type: 'message', text: `last ${k}` });
    await tab.waitFor((f) => f.type === 'message' && f.seq === c.total + k, 10_000);
    tab.close();
  }
}
