/** RFC 3261 timer values and a counted timer set, so tests can prove nothing is left running. */

export interface SipTimerConfig {
  /** RTT estimate, default 500 ms. Tests shrink it; A, B, E, F, G, H, J, L, M scale with it. */
  t1: number;
  /** Maximum retransmit interval for non-INVITE requests and INVITE responses, default 4 s. */
  t2: number;
  /** Maximum time a message stays in the network, default 5 s (timers I and K). */
  t4: number;
}

export const DEFAULT_TIMERS: SipTimerConfig = { t1: 500, t2: 4000, t4: 5000 };

export interface TimerHandle {
  readonly id: number;
}

/** setTimeout wrapper that tracks live timers. */
export class TimerSet {
  private readonly live = new Map<number, NodeJS.Timeout>();
  private next = 1;

  set(fn: () => void, ms: number): TimerHandle {
    const id = this.next++;
    const t = setTimeout(() => {
      this.live.delete(id);
      fn();
    }, ms);
    this.live.set(id, t);
    return { id };
  }

  clear(h: TimerHandle | undefined): void {
    if (!h) return;
    const t = this.live.get(h.id);
    if (t) clearTimeout(t);
    this.live.delete(h.id);
  }

  clearAll(): void {
    for (const t of this.live.values()) clearTimeout(t);
    this.live.clear();
  }

  /** Number of timers still pending. */
  get size(): number {
    return this.live.size;
  }
}
