/**
 * Media port allocation: RTP on an even port, RTCP on the next odd one, both bound together. Ports are handed
 * out round-robin from a cursor so a port just released is not reused at once (late packets of the old call
 * must not leak into a new one).
 */
export class PortPool {
  private readonly used = new Set<number>();
  private cursor: number;
  readonly first: number;
  readonly last: number;

  constructor(portMin: number, portMax: number) {
    this.first = portMin % 2 === 0 ? portMin : portMin + 1;
    this.last = portMax % 2 === 0 ? portMax - 1 : portMax; // last RTCP port
    if (this.last <= this.first) throw new Error(`port range ${portMin}-${portMax} holds no RTP/RTCP pair`);
    this.cursor = this.first;
  }

  /** Number of RTP/RTCP pairs in the range. */
  get capacity(): number {
    return (this.last - this.first + 1) / 2;
  }

  get inUse(): number {
    return this.used.size;
  }

  /**
   * Candidate even ports to try, in order, skipping ports held by this pool. The caller binds them and calls
   * `take` for the one that worked (another process may hold some).
   */
  *candidates(): Generator<number> {
    const n = this.capacity;
    for (let i = 0; i < n; i++) {
      const p = this.cursor;
      this.cursor += 2;
      if (this.cursor > this.last) this.cursor = this.first;
      if (!this.used.has(p)) yield p;
    }
  }

  take(rtpPort: number): void {
    this.used.add(rtpPort);
  }

  release(rtpPort: number): void {
    this.used.delete(rtpPort);
  }
}

/** One pool per local address: different addresses may hand out the same port numbers. */
export class PortPools {
  private readonly pools = new Map<string, PortPool>();

  constructor(
    private readonly portMin: number,
    private readonly portMax: number,
  ) {}

  for(address: string): PortPool {
    let p = this.pools.get(address);
    if (!p) {
      p = new PortPool(this.portMin, this.portMax);
      this.pools.set(address, p);
    }
    return p;
  }

  /** Addresses that have a pool. */
  addresses(): IterableIterator<string> {
    return this.pools.keys();
  }

  /** The pool of an address, if one was ever made. */
  peek(address: string): PortPool | undefined {
    return this.pools.get(address);
  }
}
