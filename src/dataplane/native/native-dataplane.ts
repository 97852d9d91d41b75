/**
 * The native dataplane: media sockets bound, read and written by the addon's worker threads (one epoll
 * each, `--num-threads`), so no JavaScript runs per packet. Pairs are spread over the workers round-robin;
 * legs with per-packet duties (taps) get their packets handed to JavaScript, which runs the taps and sends.
 */
import { isIPv6 } from 'node:net';
import { PortPools } from '../port-pool.js';
import { type Dataplane, type LegPair, OutOfPortsError } from '../userspace.js';
import { ITEM_ENDPOINT, ITEM_RTCP, type NativeRelayAddon } from './addon.js';
import { NativeRelayLeg, type RelayContext, SLOT_F64 } from './native-leg.js';

/** `open` returns gen * SLOT_LIMIT + slot. */
const SLOT_LIMIT = 1 << 22;

export interface NativeDataplaneOptions {
  /** Worker threads (rtpengine's `--num-threads`), 1..64. */
  threads: number;
  /** Legs that may be open at once (default: every port of the range on four addresses). */
  capacity?: number;
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

  constructor(addon: NativeRelayAddon, portMin: number, portMax: number, opts: NativeDataplaneOptions) {
    this.pools = new PortPools(portMin, portMax);
    this.threads = opts.threads;
    const capacity = opts.capacity ?? Math.min((portMax - portMin + 2) * 4, 1 << 20);
    const [handle, shared] = addon.create(opts.threads, capacity, (kind, slot, gen, packet) =>
      this.item(kind, slot, gen, packet),
    );
    this.ctx = { addon, handle, f64: new Float64Array(shared), i32: new Int32Array(shared) };
    if (this.ctx.f64.length !== capacity * SLOT_F64) throw new Error('native relay: unexpected slot size');
  }

  get openPairs(): number {
    return this.open;
  }

  private leg(address: string, port: number, isRtcp: boolean, worker: number): NativeRelayLeg | null {
    const { addon, handle } = this.ctx;
    const r = addon.open(handle, address, port, isRtcp, worker);
    if (r < 0) return null;
    const slot = r % SLOT_LIMIT;
    const gen = Math.floor(r / SLOT_LIMIT);
    const leg = new NativeRelayLeg(this.ctx, slot, gen, address, port, isIPv6(address) ? 6 : 4, isRtcp);
    this.legs[slot] = leg;
    return leg;
  }

  /** Binding is synchronous here; the promise keeps the {@link Dataplane} shape. */
  async openPair(address: string): Promise<LegPair> {
    if (this.destroyed) throw new Error('native dataplane is closed');
    const pool = this.pools.for(address);
    const worker = this.nextWorker;
    this.nextWorker = (worker + 1) % this.threads;
    for (const port of pool.candidates()) {
      const rtp = this.leg(address, port, false, worker);
      if (rtp) {
        const rtcp = this.leg(address, port + 1, true, worker);
        if (rtcp) {
          pool.take(port);
          this.open++;
          return { rtp, rtcp };
        }
        this.drop(rtp);
      }
    }
    throw new OutOfPortsError(address);
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
    for (const leg of this.legs) if (leg) this.drop(leg);
    this.ctx.addon.destroy(this.ctx.handle);
  }

  private item(kind: number, slot: number, gen: number, packet: Buffer | undefined): void {
    const leg = this.legs[slot];
    if (!leg || leg.gen !== gen || leg.closed) return;
    if (kind === ITEM_ENDPOINT) leg.onChange?.(leg);
    else if (packet) leg.deliver(packet, kind === ITEM_RTCP);
  }
}
