/**
 * The outgoing MESSAGE queue: bounded in length and in requests in flight, so one message to a big room
 * cannot exhaust sockets or memory. What does not fit is dropped and counted.
 */

export interface FanoutJob {
  /** Sends one MESSAGE and resolves with the final status. */
  send: () => Promise<number>;
  /** Called with the final status (for invitations). */
  done?: (status: number) => void;
}

export interface FanoutStats {
  queued: number;
  inFlight: number;
  sent: number;
  failed: number;
  dropped: number;
}

export class Fanout {
  private readonly queue: FanoutJob[] = [];
  private head = 0;
  private inFlight = 0;
  private idleWaiters: (() => void)[] = [];
  readonly stats = { sent: 0, failed: 0, dropped: 0 };

  constructor(
    /** Most MESSAGEs waiting to be sent. */
    readonly maxQueue = 10_000,
    /** Most MESSAGE transactions at once. */
    readonly concurrency = 64,
    private readonly onResult: (status: number) => void = () => {},
  ) {}

  /** Queues jobs in order; returns how many were dropped because the queue was full. */
  push(jobs: FanoutJob[]): number {
    let dropped = 0;
    for (const j of jobs) {
      if (this.queue.length - this.head >= this.maxQueue) {
        dropped++;
        j.done?.(503);
        continue;
      }
      this.queue.push(j);
    }
    this.stats.dropped += dropped;
    this.pump();
    return dropped;
  }

  snapshot(): FanoutStats {
    return { queued: this.queue.length - this.head, inFlight: this.inFlight, ...this.stats };
  }

  /** Resolves once nothing is queued or in flight. */
  idle(): Promise<void> {
    if (this.inFlight === 0 && this.queue.length === this.head) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private pump(): void {
    while (this.inFlight < this.concurrency && this.head < this.queue.length) {
      const job = this.queue[this.head++] as FanoutJob;
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue.splice(0, this.head);
        this.head = 0;
      }
      this.inFlight++;
      job
        .send()
        .catch(() => 503)
        .then((status) => {
          if (status >= 200 && status < 300) this.stats.sent++;
          else this.stats.failed++;
          this.onResult(status);
          job.done?.(status);
        })
        .finally(() => {
          this.inFlight--;
          this.pump();
          if (this.inFlight === 0 && this.queue.length === this.head) {
            const w = this.idleWaiters;
            this.idleWaiters = [];
            for (const f of w) f();
          }
        });
    }
  }
}
