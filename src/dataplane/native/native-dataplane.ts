/**
 * The native dataplane: media sockets bound, read and written by the addon's worker threads (one epoll
 * each, `--num-threads`), so no JavaScript runs per packet. Pairs are spread over the workers round-robin;
 * legs with per-packet duties (taps) get their packets handed to JavaScript, which runs the taps and sends.
 *
 * Opening a pair costs eight system calls (socket, bind, two buffer sizes per leg) plus the epoll add; an
 * offer needs two pairs. So a few spare pairs per address are opened ahead, right after a request took
 * some (setImmediate: after its reply has gone out), and an offer takes ready ones.
 */
import { isIPv6 } from 'node:net';
import { ALAW_DECODE, ALAW_ENCODE, ULAW_DECODE, ULAW_ENCODE } from '../../media/g711.js';
import { PortPools } from '../port-pool.js';
import { type Dataplane, type LegPair, OutOfPortsError } from '../userspace.js';
import { ITEM_ENDPOINT, ITEM_OTHER, ITEM_RTCP, type NativeRelayAddon } from './addon.js';
import { NativeRelayLeg, type RelayContext, SLOT_F64 } from './native-leg.js';

/** `open` returns gen * SLOT_LIMIT + slot. */
const SLOT_LIMIT = 1 << 22;
/** Spare pairs kept per address by default: one offer's worth. */
const SPARE_PAIRS = 2;
/** Below this many pairs in the port range no spares are kept by default (they would hold a real share). */
const SPARE_MIN_RANGE = 512;

export interface NativeDataplaneOptions {
  /** Worker threads (rtpengine's `--num-threads`), 1..64. */
  threads: number;
  /** Legs that may be open at once (default: every port of the range on four addresses). */
  capacity?: number;
  /**
   * Pairs opened ahead per address (default 2 when the port range holds at least 512 pairs, else 0 so
   * small ranges keep every pair for calls).
   */
  spares?: number;
  /** TOS byte of every leg's outgoing packets (`--tos`); unset: the system's default (0). */
  tos?: number;
}

export class NativeDataplane implements Dataplane {
  private readonly pools: PortPools;
  private readonly ctx: RelayContext;
  /** Open legs by slot, for items from the workers. */
  private readonly legs: (NativeRelayLeg | undefined)[] = [];
  private readonly threads: number;
  private open = 0;
  private nextWorker = 0;
  private destroyed = false;
  /** Pairs opened ahead, per address, and whether a refill is scheduled. */
  private readonly spare = new Map<string, LegPair[]>();
  private readonly spares: number;
  private refillScheduled = false;
  private readonly tos: number | undefined;

  constructor(addon: NativeRelayAddon, portMin: number, portMax: number, opts: NativeDataplaneOptions) {
    this.pools = new PortPools(portMin, portMax);
    this.threads = opts.threads;
    this.tos = opts.tos;
    const pairsInRange = Math.floor((portMax - portMin + 1) / 2);
    this.spares = opts.spares ?? (pairsInRange >= SPARE_MIN_RANGE ? SPARE_PAIRS : 0);
    const capacity = opts.capacity ?? Math.min((portMax - portMin + 2) * 4, 1 << 20);
    const [handle, shared] = addon.create(opts.threads, capacity, (kind, slot, gen, packet, from) =>
      this.item(kind, slot, gen, packet, from),
    );
    this.ctx = { addon, handle, f64: new Float64Array(shared), i32: new Int32Array(shared) };
    // The workers' G.722 conversions encode and decode G.711 with the tables the JavaScript side uses.
    const buf = (a: Uint8Array | Int16Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
    addon.setLawTables(handle, buf(ULAW_ENCODE), buf(ALAW_ENCODE), buf(ULAW_DECODE), buf(ALAW_DECODE));
    if (this.ctx.f64.length !== capacity * SLOT_F64) throw new Error('native relay: unexpected slot size');
  }

  /** Pairs in use by calls (spares not counted). */
  get openPairs(): number {
    let spares = 0;
    for (const list of this.spare.values()) spares += list.length;
    return this.open - spares;
  }

  private leg(
    address: string,
    family: 4 | 6,
    port: number,
    isRtcp: boolean,
    worker: number,
  ): NativeRelayLeg | null {
    const { addon, handle } = this.ctx;
    const r = addon.open(handle, address, port, isRtcp, worker);
    if (r < 0) return null;
    const slot = r % SLOT_LIMIT;
    const gen = Math.floor(r / SLOT_LIMIT);
    const leg = new NativeRelayLeg(this.ctx, slot, gen, address, port, family, isRtcp);
    this.legs[slot] = leg;
    return leg;
  }

  /** The spare pairs held for an address (a copy; for tests and diagnostics). */
  sparePairs(address: string): LegPair[] {
    return [...(this.spare.get(address) ?? [])];
  }

  /** Binding is synchronous here; the promise keeps the {@link Dataplane} shape. */
  async openPair(address: string): Promise<LegPair> {
    if (this.destroyed) throw new Error('native dataplane is closed');
    if (this.spares > 0) {
      const ready = this.takeSpare(address);
      this.scheduleRefill();
      if (ready) return ready;
    }
    return this.bindPair(address);
  }

  /** A spare pair that nothing has reached yet (one that got stray packets is closed instead). */
  private takeSpare(address: string): LegPair | undefined {
    const list = this.spare.get(address);
    let pair = list?.pop();
    while (
      pair &&
      (pair.rtp.rtp.packets + pair.rtp.rtcp.packets + pair.rtcp.rtcp.packets > 0 ||
        pair.rtp.confirmed ||
        pair.rtcp.confirmed)
    ) {
      this.closePair(pair);
      pair = list?.pop();
    }
    return pair;
  }

  private scheduleRefill(): void {
    if (this.refillScheduled) return;
    this.refillScheduled = true;
    setImmediate(() => {
      this.refillScheduled = false;
      this.refill();
    });
  }

  /** Tops up every address's spares (bounded by `spares` per address; stops when ports run out). */
  private refill(): void {
    if (this.destroyed) return;
    for (const address of this.pools.addresses()) {
      let list = this.spare.get(address);
      if (!list) {
        list = [];
        this.spare.set(address, list);
      }
      try {
        while (list.length < this.spares) list.push(this.bindPair(address));
      } catch (e) {
        if (!(e instanceof OutOfPortsError)) throw e;
      }
    }
  }

  private bindPair(address: string): LegPair {
    const pool = this.pools.for(address);
    const worker = this.nextWorker;
    this.nextWorker = (worker + 1) % this.threads;
    const family = isIPv6(address) ? 6 : 4;
    for (const port of pool.candidates()) {
      const rtp = this.leg(address, family, port, false, worker);
      if (rtp) {
        const rtcp = this.leg(address, family, port + 1, true, worker);
        if (rtcp) {
          pool.take(port);
          this.open++;
          const pair = { rtp, rtcp };
          if (this.tos !== undefined) this.setTos(pair, this.tos);
          return pair;
        }
        this.drop(rtp);
      }
    }
    throw new OutOfPortsError(address);
  }

  setTos(pair: LegPair, tos: number): boolean {
    const { addon, handle } = this.ctx;
    let ok = true;
    for (const leg of [pair.rtp, pair.rtcp]) {
      if (leg instanceof NativeRelayLeg && !leg.closed) ok = addon.setTos(handle, leg.slot, tos) === 0 && ok;
    }
    return ok;
  }

  private drop(leg: NativeRelayLeg): void {
    leg.close();
    if (this.legs[leg.slot] === leg) this.legs[leg.slot] = undefined;
  }

  closePair(pair: LegPair): void {
    const { rtp, rtcp } = pair;
    if (rtp.closed || !(rtp instanceof NativeRelayLeg) || !(rtcp instanceof NativeRelayLeg)) return;
    this.drop(rtp);
    this.drop(rtcp);
    this.pools.peek(rtp.localAddress)?.release(rtp.localPort);
    this.open--;
  }

  /** Stops the workers and closes every socket (the process is ending, or a test is done). */
  close(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.spare.clear();
    for (const leg of this.legs) if (leg) this.drop(leg);
    this.ctx.addon.destroy(this.ctx.handle);
  }

  private item(
    kind: number,
    slot: number,
    gen: number,
    packet: Buffer | undefined,
    from: [string, number] | undefined,
  ): void {
    const leg = this.legs[slot];
    if (!leg || leg.gen !== gen || leg.closed) return;
    if (kind === ITEM_ENDPOINT) leg.onChange?.(leg);
    else if (packet && kind === ITEM_OTHER && from)
      leg.onOther?.(packet, leg, { address: from[0], port: from[1] });
    else if (packet) leg.deliver(packet, kind === ITEM_RTCP);
  }
}
