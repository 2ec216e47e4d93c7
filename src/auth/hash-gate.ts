// A bound on password hashing: scrypt runs on libuv's 4-thread pool, which DNS lookups and file I/O share, so a
// login or registration flood must neither take every thread nor build an unbounded backlog.

export class HashGateFull extends Error {
  constructor() {
    super('Too many password checks are waiting.');
  }
}

export class HashGate {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(
    readonly concurrency: number,
    readonly queueLimit: number,
  ) {}

  /** Runs the job when a slot is free, after the ones already waiting; throws HashGateFull when the wait queue is full. */
  async run<T>(job: () => Promise<T>): Promise<T> {
    if (this.running < this.concurrency) {
      this.running++;
    } else {
      if (this.waiting.length >= this.queueLimit) throw new HashGateFull();
      // The finishing job hands its slot over, so `running` already counts this one.
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    try {
      return await job();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }

  get load(): { running: number; waiting: number } {
    return { running: this.running, waiting: this.waiting.length };
  }
}
