/**
 * One ticking timer shared by every playback of a server: a few thousand per-call 20 ms timers would cost
 * more in wake-ups than the packets themselves. Ticks are scheduled against absolute times (tick k at
 * start + k * tickMs), so timer lateness does not accumulate; the timer only runs while a task is registered.
 */

export type ClockTask = (nowMs: number) => void;

export class MediaClock {
  private readonly tasks = new Set<ClockTask>();
  private timer: NodeJS.Timeout | undefined;
  private nextAt = 0;

  constructor(
    readonly tickMs = 10,
    readonly now: () => number = () => performance.now(),
  ) {}

  /** Registers a task run on every tick; returns its removal. */
  add(task: ClockTask): () => void {
    this.tasks.add(task);
    if (this.timer === undefined) {
      this.nextAt = this.now() + this.tickMs;
      this.timer = setTimeout(this.tick, this.tickMs);
    }
    return () => this.remove(task);
  }

  remove(task: ClockTask): void {
    this.tasks.delete(task);
    if (this.tasks.size === 0) this.stop();
  }

  /** 1 while the timer runs, else 0 (for leak checks). */
  get timers(): number {
    return this.timer === undefined ? 0 : 1;
  }

  get size(): number {
    return this.tasks.size;
  }

  /** Drops every task and stops the timer. */
  stop(): void {
    this.tasks.clear();
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private readonly tick = (): void => {
    const fired = this.timer;
    const now = this.now();
    for (const task of [...this.tasks]) {
      try {
        task(now);
      } catch {
        // A failing task must not stop the others; tasks handle their own errors.
        this.tasks.delete(task);
      }
    }
    // A task may have stopped the clock (and another restarted it): only the live chain reschedules.
    if (this.timer !== fired) return;
    if (this.tasks.size === 0) {
      this.timer = undefined;
      return;
    }
    this.nextAt += this.tickMs;
    // After a long stall, restart the grid from now instead of firing a burst of catch-up ticks.
    if (this.nextAt < now) this.nextAt = now + this.tickMs;
    this.timer = setTimeout(this.tick, Math.max(0, this.nextAt - now));
  };
}
