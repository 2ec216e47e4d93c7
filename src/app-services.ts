// The services one app instance wires together; handed to every route module and to the gateway.
import type { Config } from './config.ts';
import type { Accounts } from './services/accounts.ts';
import type { ServiceContext } from './services/context.ts';
import type { QueueViewer } from './services/queue-view.ts';
import type { Metrics } from './http/metrics.ts';
import type { Limits } from './limits/port.ts';

export interface AppServices {
  config: Config;
  ctx: ServiceContext;
  accounts: Accounts;
  queueViewer: QueueViewer;
  metrics: Metrics;
  /** Counters shared by every instance (caps per user and per address). */
  limits: Limits;
}
