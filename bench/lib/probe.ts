// Preloaded into a benchmarked process (`--import ./bench/lib/probe.ts`): answers the parent over IPC with
// memory (after a full GC when --expose-gc is on), CPU time and event-loop delay. Inert without an IPC channel.
import { monitorEventLoopDelay } from 'node:perf_hooks';

export interface ProbeReply {
  id: number;
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  cpuUserUs: number;
  cpuSystemUs: number;
  /** Event-loop delay since the last reset, in ms. */
  eld: { p50: number; p99: number; max: number };
}

if (process.send) {
  const delay = monitorEventLoopDelay({ resolution: 5 });
  delay.enable();
  process.on('message', (msg: { probe?: string; id?: number }) => {
    if (!msg || typeof msg.probe !== 'string') return;
    if (msg.probe === 'gc') {
      const gc = (globalThis as { gc?: () => void }).gc;
      if (gc) for (let i = 0; i < 3; i++) gc();
    }
    const mem = process.memoryUsage();
    const cpu = process.cpuUsage();
    const reply: ProbeReply = {
      id: msg.id ?? 0,
      rss: mem.rss,
      heapUsed: mem.heapUsed,
      heapTotal: mem.heapTotal,
      external: mem.external,
      arrayBuffers: mem.arrayBuffers,
      cpuUserUs: cpu.user,
      cpuSystemUs: cpu.system,
      eld: { p50: delay.percentile(50) / 1e6, p99: delay.percentile(99) / 1e6, max: delay.max / 1e6 },
    };
    if (msg.probe === 'reset') delay.reset();
    process.send!(reply);
  });
  // The IPC channel must not keep an otherwise finished process alive.
  process.channel?.unref();
}
