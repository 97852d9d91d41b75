/**
 * A leg of the native dataplane: the socket and the per-packet work live in the addon's worker threads; this
 * object is the engine's view of it. Counters and the endpoint generation are read from memory the workers
 * write (no call per read); configuration changes are small addon calls made from the setters.
 */
import type {
  Counters,
  Endpoint,
  Learning,
  PacketProtect,
  PacketTap,
  PayloadConversion,
  RelayLeg,
} from '../relay-leg.js';
import type { NativeRelayAddon, RelayHandle } from './addon.js';

/** Doubles per slot and their order (relay.c `shared_slot_t`). */
export const SLOT_F64 = 12;
const RTP = 0;
const RTCP = 3;
const DROPPED = 6;
const LAST_PACKET = 7;
/** Int32 offsets inside a slot: endpoint generation and confirmed flag. */
const EP_GEN = 16;
const CONFIRMED = 17;
const SLOT_I32 = 24;

const LEARNING_CODE: Record<Learning, number> = { latch: 0, off: 1, handover: 2 };

/** Where a leg's shared numbers are: the live slot, or a frozen copy once the leg is closed. */
interface View {
  f64: Float64Array;
  base: number;
}

/** Counters the worker counts; values assigned from JavaScript (kernel offload adds its own) become offsets. */
class SharedCounters implements Counters {
  // Doubles from the start: the counts are doubles, and one element kind keeps the accessors monomorphic.
  private readonly extra = new Float64Array(3);
  constructor(
    private readonly view: View,
    private readonly at: number,
  ) {}
  private get(i: number): number {
    return this.view.f64[this.view.base + this.at + i]! + this.extra[i]!;
  }
  private set(i: number, v: number): void {
    this.extra[i] = v - this.view.f64[this.view.base + this.at + i]!;
  }
  get packets(): number {
    return this.get(0);
  }
  set packets(v: number) {
    this.set(0, v);
  }
  get bytes(): number {
    return this.get(1);
  }
  set bytes(v: number) {
    this.set(1, v);
  }
  get errors(): number {
    return this.get(2);
  }
  set errors(v: number) {
    this.set(2, v);
  }
}

/** The addon, its handle and the shared slot views: what every leg of one relay needs. */
export interface RelayContext {
  readonly addon: NativeRelayAddon;
  readonly handle: RelayHandle;
  readonly f64: Float64Array;
  readonly i32: Int32Array;
}

export class NativeRelayLeg implements RelayLeg {
  advertised: Endpoint | null = null;
  kernelized = false;
  onChange: ((leg: RelayLeg) => void) | null = null;
  readonly rtp: Counters;
  readonly rtcp: Counters;
  private readonly view: View;
  private _closed = false;
  private _learning: Learning = 'latch';
  private _strict = false;
  private _blocked = false;
  private _taps: PacketTap[] = [];
  protect: PacketProtect | null = null;
  private _onOther: ((msg: Buffer, leg: RelayLeg, from: Endpoint) => void) | null = null;
  get onOther(): ((msg: Buffer, leg: RelayLeg, from: Endpoint) => void) | null {
    return this._onOther;
  }
  set onOther(v: ((msg: Buffer, leg: RelayLeg, from: Endpoint) => void) | null) {
    if (v === this._onOther) return;
    this._onOther = v;
    this.configure();
  }
  private _sink: NativeRelayLeg | null = null;
  private _rtcpSink: NativeRelayLeg | null = null;
  private endpointCache: Endpoint | null = null;
  private endpointGen: number;
  private droppedExtra = 0;
  private lastPacketSet = 0;
  private frozenConfirmed = false;

  constructor(
    private readonly ctx: RelayContext,
    /** The addon's slot and its generation (items for an older leg in the same slot are ignored). */
    readonly slot: number,
    readonly gen: number,
    readonly localAddress: string,
    readonly localPort: number,
    readonly family: 4 | 6,
    readonly isRtcp: boolean,
  ) {
    this.view = { f64: ctx.f64, base: slot * SLOT_F64 };
    this.rtp = new SharedCounters(this.view, RTP);
    this.rtcp = new SharedCounters(this.view, RTCP);
    this.endpointGen = ctx.i32[slot * SLOT_I32 + EP_GEN]!;
  }

  get closed(): boolean {
    return this._closed;
  }

  get endpoint(): Endpoint | null {
    if (this._closed) return this.endpointCache;
    const gen = this.ctx.i32[this.slot * SLOT_I32 + EP_GEN]!;
    if (gen !== this.endpointGen) {
      const ep = this.ctx.addon.getEndpoint(this.ctx.handle, this.slot);
      this.endpointCache = ep ? { address: ep[0], port: ep[1] } : null;
      this.endpointGen = gen;
    }
    return this.endpointCache;
  }

  set endpoint(ep: Endpoint | null) {
    if (this._closed) return;
    this.endpointCache = ep;
    this.endpointGen = this.ctx.addon.setEndpoint(
      this.ctx.handle,
      this.slot,
      ep?.address ?? null,
      ep?.port ?? 0,
    );
  }

  get confirmed(): boolean {
    if (this._closed) return this.frozenConfirmed;
    return this.ctx.i32[this.slot * SLOT_I32 + CONFIRMED] !== 0;
  }

  set confirmed(v: boolean) {
    if (!this._closed) this.ctx.addon.setConfirmed(this.ctx.handle, this.slot, v);
  }

  get learning(): Learning {
    return this._learning;
  }
  set learning(v: Learning) {
    this._learning = v;
    this.configure();
  }
  get strict(): boolean {
    return this._strict;
  }
  set strict(v: boolean) {
    this._strict = v;
    this.configure();
  }
  get blocked(): boolean {
    return this._blocked;
  }
  set blocked(v: boolean) {
    this._blocked = v;
    this.configure();
  }
  get taps(): PacketTap[] {
    return this._taps;
  }
  set taps(v: PacketTap[]) {
    this._taps = v;
    this.configure();
  }

  get sink(): RelayLeg | null {
    return this._sink;
  }
  set sink(v: RelayLeg | null) {
    this._sink = v instanceof NativeRelayLeg ? v : null;
    this.wireSinks();
  }
  get rtcpSink(): RelayLeg | null {
    return this._rtcpSink;
  }
  set rtcpSink(v: RelayLeg | null) {
    this._rtcpSink = v instanceof NativeRelayLeg ? v : null;
    this.wireSinks();
  }

  get dropped(): number {
    return this.view.f64[this.view.base + DROPPED]! + this.droppedExtra;
  }
  set dropped(v: number) {
    this.droppedExtra = v - this.view.f64[this.view.base + DROPPED]!;
  }

  get lastPacket(): number {
    return Math.max(this.view.f64[this.view.base + LAST_PACKET]!, this.lastPacketSet);
  }
  set lastPacket(v: number) {
    this.lastPacketSet = v;
  }

  private _converting = false;

  get converting(): boolean {
    return this._converting;
  }

  convert(c: PayloadConversion | undefined): boolean {
    if (this._closed) return false;
    const h = this.ctx.handle;
    const t = c?.table;
    const mode = c?.g722 ? (c.g722.encode ? 2 : 1) : 0;
    const ok =
      c && (t || c.g722)
        ? this.ctx.addon.setTranscode(
            h,
            this.slot,
            c.fromPt,
            c.toPt,
            t ? Buffer.from(t.buffer, t.byteOffset, t.byteLength) : null,
            c.events?.[0] ?? -1,
            c.events?.[1] ?? -1,
            mode,
            c.g722?.law === 'PCMA' ? 1 : 0,
          )
        : !c && this.ctx.addon.setTranscode(h, this.slot, -1, -1, null, -1, -1, 0, 0);
    this._converting = c !== undefined && ok;
    return ok;
  }

  setSrtp(rx: Buffer | null, tx: Buffer | null, tagBytes: number): boolean {
    if (this._closed || !this.ctx.addon.setSrtp) return false;
    const ok = this.ctx.addon.setSrtp(this.ctx.handle, this.slot, rx, tx, tagBytes);
    if (ok) {
      this.srtp = rx !== null || tx !== null;
      this.onChange?.(this);
    }
    return ok;
  }

  /** The worker does SRTP on this leg. */
  srtp = false;

  private configure(): void {
    if (this._closed) return;
    this.ctx.addon.configure(
      this.ctx.handle,
      this.slot,
      LEARNING_CODE[this._learning],
      this._strict,
      this._blocked,
      this._taps.length !== 0,
      this._onOther !== null,
    );
  }

  private wireSinks(): void {
    if (this._closed) return;
    const s = this._sink;
    const r = this._rtcpSink;
    this.ctx.addon.setSinks(
      this.ctx.handle,
      this.slot,
      s && !s._closed ? s.slot : -1,
      r && !r._closed ? r.slot : -1,
    );
  }

  /** A packet of this (tapped) leg, already counted by the worker: run the taps, then forward it. */
  deliver(msg: Buffer, isRtcp: boolean): void {
    let data = msg;
    for (const tap of this._taps) {
      const r = tap(data, this, isRtcp);
      if (r === false) {
        this.droppedExtra++;
        return;
      }
      if (r !== true) data = r;
    }
    const out = isRtcp && !this.isRtcp ? this._rtcpSink : this._sink;
    if (!out || out._closed || !out.sendToParty(data)) this.droppedExtra++;
  }

  sendToParty(msg: Buffer, raw = false): boolean {
    if (this._closed) return false;
    const wire = this.protect && !raw ? this.protect(msg) : msg;
    return wire !== null && this.ctx.addon.send(this.ctx.handle, this.slot, wire, raw);
  }

  sendTo(msg: Buffer, to: Endpoint): boolean {
    if (this._closed) return false;
    return this.ctx.addon.send(this.ctx.handle, this.slot, msg, true, to.address, to.port);
  }

  /**
   * Closes the socket (no worker touches the slot once the addon returns), then freezes the shared numbers
   * into a private copy, since the slot will be reused.
   */
  close(): void {
    if (this._closed) return;
    this.ctx.addon.close(this.ctx.handle, this.slot);
    this.endpointCache = this.endpoint;
    this.frozenConfirmed = this.confirmed;
    this._closed = true;
    this.view.f64 = this.view.f64.slice(this.view.base, this.view.base + SLOT_F64);
    this.view.base = 0;
    this.onChange?.(this);
  }
}
