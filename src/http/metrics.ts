// Prometheus metrics: one registry per app (tests build many), default process metrics, HTTP and chat counters.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class Metrics {
  readonly registry = new Registry();
  readonly httpDuration: Histogram<'method' | 'route' | 'status_code'>;
  readonly messagesRelayed: Counter;
  readonly conversationsAssigned: Counter;
  readonly socketsOpen: Gauge<'kind'>;
  readonly queueLength: Gauge;
  readonly repsOnline: Gauge;
  readonly fanoutLag: Histogram;

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    this.httpDuration = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request durations by route and status',
      labelNames: ['method', 'route', 'status_code'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [this.registry],
    });
    this.messagesRelayed = new Counter({ name: 'switchboard_messages_relayed_total', help: 'Chat messages stored and fanned out', registers: [this.registry] });
    this.conversationsAssigned = new Counter({ name: 'switchboard_conversations_assigned_total', help: 'Assignments committed', registers: [this.registry] });
    this.socketsOpen = new Gauge({ name: 'switchboard_sockets_open', help: 'Open WebSockets on this instance', labelNames: ['kind'], registers: [this.registry] });
    this.queueLength = new Gauge({ name: 'switchboard_queue_length', help: 'Conversations waiting in the queue', registers: [this.registry] });
    this.repsOnline = new Gauge({ name: 'switchboard_reps_online', help: 'Reps whose status is online', registers: [this.registry] });
    this.fanoutLag = new Histogram({
      name: 'switchboard_fanout_lag_seconds',
      help: 'Time from a message being stored to its frame being handed to local sockets',
      buckets: [0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1],
      registers: [this.registry],
    });
  }
}
