/**
 * Replies by (sender, cookie), so a retransmitted ng request gets the same reply and is not executed twice.
 * Bounded in entries and age: a peer cannot grow it without limit.
 */
export const PENDING = Symbol('pending');

interface Entry {
  at: number;
  reply: Buffer | typeof PENDING;
}

export class CookieCache {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly ttlMs = 30_000,
    private readonly max = 50_000,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  get(key: string): Buffer | typeof PENDING | undefined {
    return this.entries.get(key)?.reply;
  }

  set(key: string, reply: Buffer | typeof PENDING, now = Date.now()): void {
    this.entries.delete(key);
    this.entries.set(key, { at: now, reply });
    if (this.entries.size > this.max) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
  }

  /** Drops expired entries; Map order is insertion order, so the oldest come first. */
  sweep(now = Date.now()): void {
    for (const [k, e] of this.entries) {
      if (now - e.at < this.ttlMs) break;
      this.entries.delete(k);
    }
  }
}
