/**
 * Coalesced reads of something slow to read (the kernel's counters, listed through nft): a caller says how old
 * the data may be. A read whose data is recent enough is reused, one in flight that started recently enough is
 * joined, and otherwise one more read is queued behind the one in flight. However many callers ask, at most one
 * read runs and one waits.
 */
export class CoalescedReads {
  private inFlight: { started: number; done: Promise<void> } | null = null;
  private queued: Promise<void> | null = null;
  /** When the newest finished read started: its data is at least that recent. */
  private lastDone = Number.NEGATIVE_INFINITY;
  /** When the newest read started (finished or not). */
  private lastStart = Number.NEGATIVE_INFINITY;

  /** `read` must not reject (a rejection is taken as a finished read). */
  constructor(
    private readonly read: () => Promise<void>,
    private readonly clock: () => number = () => performance.now(),
  ) {}

  /** When the newest read started, on `clock`'s scale (-Infinity: never). */
  get lastStarted(): number {
    return this.lastStart;
  }

  /** Resolves once data read no longer than `maxAgeMs` ago is in (at once when it already is). */
  fresh(maxAgeMs: number): Promise<void> {
    const since = this.clock() - maxAgeMs;
    if (this.lastDone >= since) return Promise.resolve();
    if (this.inFlight && this.inFlight.started >= since) return this.inFlight.done;
    return this.next();
  }

  /** A read that starts now, or as soon as the one in flight ends (shared with every other caller meanwhile). */
  next(): Promise<void> {
    if (!this.inFlight) return this.start();
    this.queued ??= this.inFlight.done.then(() => {
      this.queued = null;
      // A read may have started in between: it started after every caller waiting here asked.
      return this.inFlight ? this.inFlight.done : this.start();
    });
    return this.queued;
  }

  private start(): Promise<void> {
    const started = this.clock();
    this.lastStart = started;
    const finish = (): void => {
      this.inFlight = null;
      if (started > this.lastDone) this.lastDone = started;
    };
    const done = this.read().then(finish, finish);
    this.inFlight = { started, done };
    return done;
  }
}

/** `p`, or nothing after `ms` if it has not settled by then (p goes on). */
export function within(p: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
