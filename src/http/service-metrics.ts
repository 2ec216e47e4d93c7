// Service measures in /metrics, read from the store at scrape time over the last hour, so that they are
// the figures the supervisor view shows, on every instance alike.
import { Gauge, type Registry } from 'prom-client';
import type { ReportingStore } from '../store/reporting-port.ts';

const WINDOW_MS = 3_600_000;

export function registerServiceMetrics(registry: Registry, reporting: ReportingStore): void {
  let pending: Promise<Awaited<ReturnType<ReportingStore['serviceMeasures']>> | null> | undefined;
  // The three gauges share one query per scrape.
  const measures = () => {
    pending ??= reporting
      .serviceMeasures(Date.now() - WINDOW_MS, Date.now())
      .catch(() => null)
      .finally(() => setTimeout(() => (pending = undefined), 0));
    return pending;
  };
  const gauge = (name: string, help: string, pick: (m: NonNullable<Awaited<ReturnType<typeof measures>>>) => number | null) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      async collect() {
        const m = await measures();
        const v = m ? pick(m) : null;
        if (v === null) this.reset();
        else this.set(v);
      },
    });
  gauge('switchboard_first_response_seconds', 'Mean seconds from entering the queue to the first rep message, over the last hour', (m) => m.firstResponse.meanS);
  gauge('switchboard_handle_time_seconds', 'Mean seconds from assignment to close, over conversations closed in the last hour', (m) => m.handle.meanS);
  gauge('switchboard_abandonment_ratio', 'Share of the customers queued in the last hour who left before a rep was assigned', (m) => m.abandonment.ratio);
}
