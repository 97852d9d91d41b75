/**
 * The kernel offload manager: decides which legs the kernel forwards, keeps the nftables entries in step in
 * batched transactions over one netfilter netlink socket (which owns the tables), and merges the kernel's
 * per-entry counters into the legs' own counters (so `query`, totals, statistics and the timeouts see
 * kernel-forwarded packets). Counters are read when asked for (`fresh`: before a reply that reports them;
 * reads are shared) and otherwise every `syncMs`, which only has to stay well inside the media timeouts.
 *
 * A leg is offloaded while it needs no per-packet work in userspace: its endpoint was learned from a packet,
 * it has no taps (recording, playback, DTMF blocking or detection...), it is not blocked, its stream is plain
 * RTP (no SRTP), and it forwards to a known endpoint of the same address family on a non-loopback address.
 * The entry is keyed by the learned source, so packets from anyone else still reach the leg's socket.
 * Anything that changes that (a tap, a re-offer, a handover, delete) takes the entry out or replaces it;
 * packets in flight go either through the kernel or to the still-bound socket, never nowhere.
 */
import type { RelayLeg } from '../relay-leg.js';
import { NetlinkSession, describe } from './netlink-session.js';
import type { NlError } from './netlink.js';
import { MAX_EGRESS, type NftBatch, eachCounter, elementData, elementKey } from './nft-netlink.js';
import { TICK_MS, everySecond } from '../../util/tick.js';
import { CoalescedReads, within } from './reads.js';
import { type KernelEntry, type NftFamily, headerBytes, tableName } from './ruleset.js';

export interface OffloadLogger {
  info(msg: string): void;
  warn(msg: string): void;
}

/** The shape of a call as the manager reads it (the engine's Call fits without an import). */
export interface OffloadCall {
  monologues: readonly { media: readonly OffloadMedia[] }[];
  /** The call's own TOS (ng `TOS`), -1 for none: offloaded only when the ruleset sets the same. */
  tos: number;
}
export interface OffloadMedia {
  proto: string;
  pair: { rtp: RelayLeg; rtcp: RelayLeg } | null;
}

/** Counter read period when nothing asks sooner (ms). */
export const SYNC_MS = 10_000;
/** The watch looks at every leg once in this many ticks (seconds). */
export const WATCH_ROUNDS = 5;
/** Shortest counter read period (ms). */
export const MIN_SYNC_MS = 1000;
/** Default age of counters `fresh` accepts without a new read (ms): bounds on-demand reads to 5 a second. */
export const FRESH_MS = 200;
/** Longest `fresh` waits for nft before the caller goes on with the counters it has (ms). */
export const FRESH_WAIT_MS = 500;

/**
 * The counter read period for media timeouts in seconds (0: off): `SYNC_MS`, but at most a quarter of the
 * shortest timeout, so a kernel-forwarded call never looks idle for long; never under `MIN_SYNC_MS`.
 */
export function syncPeriodMs(timeoutsSeconds: readonly number[]): number {
  let ms = SYNC_MS;
  for (const t of timeoutsSeconds) if (t > 0) ms = Math.min(ms, (t * 1000) / 4);
  return Math.max(MIN_SYNC_MS, ms);
}

export interface KernelOffloadOptions {
  log: OffloadLogger;
  /**
   * How often kernel counters are read into the legs when nothing asked for them sooner (ms; default
   * `SYNC_MS`). Must stay well under the media timeouts; a function is asked again at least every second, so
   * it can follow timeouts changed at run time.
   */
  syncMs?: number | (() => number);
  /**
   * Kernel packets and payload bytes read after their leg closed (its last ones): the engine's totals took the
   * leg's counters when it closed, so these go to the totals through here.
   */
  lateCounts?: (packets: number, bytes: number) => void;
  /** Suffix of the table names (default: the process id). */
  tableSuffix?: string;
  /** Also offload IPv6 streams (an `ip6` table). */
  ipv6?: boolean;
  /** TOS of the media (`--tos`): the kernel sets its DSCP on forwarded packets. */
  tos?: number;
}

interface LegState {
  /** The stream is plain RTP (not SRTP): it may be offloaded at all. */
  allowed: boolean;
  /** What is in the kernel for this leg. */
  installed: KernelEntry | null;
  /** keyOf(installed), the leg's claim in `keys` (empty: nothing installed). */
  installedKey: string;
  /** The installed element's id (its comment in the kernel; counter reads find the leg by it), 0: none. */
  entryId: number;
  /** Whether the last check found the leg eligible (watch compares against it). */
  eligible: boolean;
  /** Kernel counter values already merged into the leg. */
  seenPackets: number;
  seenBytes: number;
}

interface FamilyTable {
  family: NftFamily;
  table: string;
  /** Our egress addresses with a forward rule in this table → the number their mark carries. */
  egress: Map<string, number>;
}

/** Changes per transaction (a transaction is one netlink message buffer; ~80 bytes a change). */
const MAX_CHANGES = 4000;

/** The map key of an entry in its table (one key per entry: the packet's 4-tuple). */
function keyOf(family: NftFamily, e: KernelEntry): string {
  return `${family}|${elementKey(family, e).toString('hex')}`;
}

function isLoopback(a: string): boolean {
  return a.startsWith('127.') || a === '::1' || a.startsWith('::ffff:127.');
}

function sameEntry(a: KernelEntry | null, b: KernelEntry | null): boolean {
  if (a === null || b === null) return a === b;
  return (
    a.src === b.src &&
    a.sport === b.sport &&
    a.laddr === b.laddr &&
    a.lport === b.lport &&
    a.dst === b.dst &&
    a.dport === b.dport &&
    a.eaddr === b.eaddr &&
    a.eport === b.eport
  );
}

/** Why kernel offload cannot be used here, or null when it can (checked before starting). */
export async function kernelUnavailable(): Promise<string | null> {
  if (process.platform !== 'linux') return 'kernel offload needs Linux nftables';
  const { readFile } = await import('node:fs/promises');
  try {
    const v = (await readFile('/proc/sys/net/ipv4/ip_forward', 'utf8')).trim();
    if (v !== '1')
      return 'net.ipv4.ip_forward is 0 (the kernel must route forwarded media: sysctl -w net.ipv4.ip_forward=1)';
  } catch {
    return 'cannot read /proc/sys/net/ipv4/ip_forward';
  }
  let probe: NetlinkSession;
  try {
    probe = NetlinkSession.connect();
  } catch (e) {
    return (e as Error).message;
  }
  try {
    return await probe.probe();
  } catch (e) {
    return `nftables does not answer: ${(e as Error).message}`;
  } finally {
    probe.close();
  }
}

export class KernelOffload {
  private readonly legs = new Map<RelayLeg, LegState>();
  private readonly dirty = new Set<RelayLeg>();
  /** Unique map keys of installed entries → leg (taken before the transaction that installs them). */
  private readonly keys = new Map<string, RelayLeg>();
  /** Ids of the entries in the kernel now → leg (a counter read names elements by id). */
  private readonly inKernel = new Map<number, RelayLeg>();
  /** Id of the last entry added: every entry gets a new one, so a replaced element's counts never land on its successor. */
  private lastEntryId = 0;
  /** Where the watch goes on at the next tick. */
  private watchAt: IterableIterator<[RelayLeg, LegState]> | null = null;
  private readonly tables: FamilyTable[];
  private flushing = false;
  private flushQueued = false;
  /** Leaves the shared once-a-second tick (src/util/tick.ts), which runs the watch and the periodic read. */
  private untick: (() => void) | null = null;
  private readonly reads = new CoalescedReads(() => this.readCounters());
  private disabled = false;
  private readonly onChange = (leg: RelayLeg) => this.legChanged(leg);
  /** Transactions sent, for tests and benchmarks. */
  transactions = 0;

  private constructor(
    private readonly nl: NetlinkSession,
    private readonly opts: KernelOffloadOptions,
  ) {
    const suffix = opts.tableSuffix ?? String(process.pid);
    this.tables = [{ family: 'ip', table: tableName('ip', suffix), egress: new Map() }];
    if (opts.ipv6) this.tables.push({ family: 'ip6', table: tableName('ip6', suffix), egress: new Map() });
  }

  /** Opens the netlink socket and creates the owned tables; throws with a one-line reason when that fails. */
  static async start(opts: KernelOffloadOptions): Promise<KernelOffload> {
    const nl = NetlinkSession.connect();
    const k = new KernelOffload(nl, opts);
    for (const t of k.tables) {
      let errs: NlError[];
      try {
        errs = await nl.apply(nl.batch(t.family, t.table).createTable(opts.tos));
      } catch (e) {
        errs = [{ seq: 0, errno: 0, message: (e as Error).message }];
      }
      if (errs.length) {
        nl.close();
        throw new Error(`cannot create nftables table ${t.table}: ${describe(errs)}`);
      }
    }
    k.periodicSync();
    // Legs report their own changes (onChange); the watch is only a safety net.
    k.untick = everySecond(() => {
      k.watch();
      k.periodicSync();
    });
    return k;
  }

  /** Table names (tests look for them). */
  get tableNames(): string[] {
    return this.tables.map((t) => `${t.family} ${t.table}`);
  }

  get active(): boolean {
    return !this.disabled;
  }

  /** Offer/answer changed the call: register its RTP legs and re-evaluate them. */
  callChanged(call: OffloadCall): void {
    if (this.disabled) return;
    for (const m of call.monologues) {
      for (const s of m.media) {
        const leg = s.pair?.rtp;
        if (!leg || leg.closed) continue;
        let st = this.legs.get(leg);
        if (!st) {
          st = {
            allowed: true,
            installed: null,
            installedKey: '',
            entryId: 0,
            eligible: false,
            seenPackets: 0,
            seenBytes: 0,
          };
          this.legs.set(leg, st);
          leg.onChange = this.onChange;
        }
        // A call's own TOS other than the ruleset's stays in userspace (its sockets set it).
        st.allowed = !/SAVP|DTLS|TLS/i.test(s.proto) && (call.tos < 0 || call.tos === this.opts.tos);
        this.dirty.add(leg);
      }
    }
    this.schedule();
  }

  /** The call is gone: its entries are removed (closed legs are also noticed by the watch). */
  callClosed(call: OffloadCall): void {
    for (const m of call.monologues) for (const s of m.media) if (s.pair) this.dirty.add(s.pair.rtp);
    this.schedule();
  }

  /** A leg learned or moved its endpoint, gained or lost taps, or closed: re-evaluate it and its peer. */
  private legChanged(leg: RelayLeg): void {
    // The leg's own entry (keyed by its source) and the entries sending to it (their destination).
    this.dirty.add(leg);
    const peer = leg.sink;
    if (peer && this.legs.has(peer)) this.dirty.add(peer);
    this.schedule();
  }

  private eligible(leg: RelayLeg, st: LegState): boolean {
    const out = leg.sink;
    const src = leg.endpoint;
    return (
      st.allowed &&
      !leg.closed &&
      !leg.isRtcp &&
      leg.learning !== 'off' &&
      leg.confirmed &&
      src !== null &&
      leg.taps.length === 0 &&
      leg.converting !== true &&
      // SRTP at either end (the kernel would forward it undecrypted or unencrypted).
      leg.srtp !== true &&
      out?.srtp !== true &&
      !leg.protect &&
      !out?.protect &&
      !leg.blocked &&
      out !== null &&
      !out.closed &&
      out.endpoint !== null &&
      out.family === leg.family &&
      (leg.family === 4 || this.tables.length > 1) &&
      !isLoopback(leg.localAddress) &&
      !isLoopback(out.localAddress) &&
      !src.address.includes('%') &&
      !out.endpoint.address.includes('%')
    );
  }

  private desired(leg: RelayLeg, st: LegState): KernelEntry | null {
    if (!this.eligible(leg, st)) return null;
    const out = leg.sink!;
    return {
      src: leg.endpoint!.address,
      sport: leg.endpoint!.port,
      laddr: leg.localAddress,
      lport: leg.localPort,
      dst: out.endpoint!.address,
      dport: out.endpoint!.port,
      eaddr: out.localAddress,
      eport: out.localPort,
    };
  }

  /**
   * Safety net: anything a leg failed to report shows up here within WATCH_ROUNDS seconds. Each tick looks at
   * the next slice of legs, so an idle daemon with many offloaded calls stays idle (the legs report their own
   * changes through onChange; this is for what one forgot).
   */
  private watch(): void {
    if (this.disabled || this.legs.size === 0) return;
    let n = Math.ceil(this.legs.size / WATCH_ROUNDS);
    // A Map iterator goes on across ticks: it skips deleted legs and reaches legs added after it started.
    this.watchAt ??= this.legs.entries();
    while (n-- > 0) {
      const r = this.watchAt.next();
      if (r.done) {
        this.watchAt = null;
        break;
      }
      const [leg, st] = r.value;
      if (leg.closed || this.eligible(leg, st) !== st.eligible) this.dirty.add(leg);
    }
    if (this.dirty.size) this.schedule();
  }

  private schedule(): void {
    if (this.flushQueued || this.disabled) return;
    this.flushQueued = true;
    setImmediate(() => void this.flush());
  }

  /** Applies every pending change in one transaction per table. */
  private async flush(): Promise<void> {
    this.flushQueued = false;
    // A running flush picks up what became dirty meanwhile.
    if (this.flushing || this.disabled) return;
    this.flushing = true;
    try {
      while (this.dirty.size && !this.disabled) {
        const batch = [...this.dirty];
        this.dirty.clear();
        await this.apply(batch);
      }
    } finally {
      this.flushing = false;
    }
  }

  private async apply(batch: RelayLeg[]): Promise<void> {
    const changes: { leg: RelayLeg; st: LegState; next: KernelEntry | null; id: number }[] = [];
    // Free the keys of entries being replaced first, so a re-keyed entry may take them.
    for (const leg of batch) {
      const st = this.legs.get(leg);
      if (!st) continue;
      const next = this.desired(leg, st);
      st.eligible = next !== null;
      if (sameEntry(st.installed, next)) {
        if (leg.closed) this.legs.delete(leg);
        continue;
      }
      if (st.installed) this.keys.delete(st.installedKey);
      changes.push({ leg, st, next, id: 0 });
    }
    if (changes.length === 0) return;
    const newEgress = new Set<string>();
    for (const c of changes) {
      if (!c.next) continue;
      const fam = this.familyOf(c.leg);
      const k = keyOf(fam, c.next);
      const t = this.tables.find((x) => x.family === fam)!;
      const egressKey = `${fam}|${c.next.eaddr}`;
      const numbered = t.egress.has(c.next.eaddr) || newEgress.has(egressKey);
      // Another leg already owns this key, or there is no mark left for a new egress address: userspace.
      if (this.keys.has(k) || (!numbered && t.egress.size + newEgress.size >= MAX_EGRESS)) c.next = null;
      else {
        this.keys.set(k, c.leg);
        c.id = ++this.lastEntryId;
        if (!numbered) newEgress.add(egressKey);
      }
    }
    if (changes.some((c) => c.st.installed !== null)) await this.sync(); // final counts of entries going away
    // Entries leaving the kernel are marked at once: the socket gets their packets from now on.
    for (const c of changes) {
      if (!c.next) c.leg.kernelized = false;
    }
    let ok = true;
    for (const t of this.tables) {
      const fam = t.family === 'ip' ? 4 : 6;
      const of = changes.filter((c) => c.leg.family === fam);
      for (let i = 0; i < of.length; i += MAX_CHANGES) {
        const part = of.slice(i, i + MAX_CHANGES);
        const remove = part.flatMap((c) => (c.st.installed ? [c.st.installed] : []));
        const add = part.flatMap((c) => (c.next ? [{ entry: c.next, id: c.id }] : []));
        if (remove.length === 0 && add.length === 0) continue;
        const b = this.nl.batch(t.family, t.table);
        b.deleteElements(remove.map((e) => elementKey(t.family, e)));
        const fresh = this.addEntries(t, b, add);
        if (!(await this.send(b, 'update failed, resynchronising'))) ok = false;
        else for (const [a, n] of fresh) t.egress.set(a, n);
      }
    }
    for (const c of changes) {
      this.inKernel.delete(c.st.entryId);
      c.st.installed = c.next;
      c.st.installedKey = c.next ? keyOf(this.familyOf(c.leg), c.next) : '';
      c.st.entryId = c.next ? c.id : 0;
      if (c.next) this.inKernel.set(c.id, c.leg);
      c.st.seenPackets = 0;
      c.st.seenBytes = 0;
      if (c.leg.closed && !c.next) {
        this.legs.delete(c.leg);
        if (c.leg.onChange === this.onChange) c.leg.onChange = null;
      }
    }
    if (!ok) await this.resync();
    for (const c of changes) c.leg.kernelized = c.st.installed !== null && !this.disabled;
  }

  private familyOf(leg: RelayLeg): NftFamily {
    return leg.family === 4 ? 'ip' : 'ip6';
  }

  /**
   * Adds `add` to the transaction, with the forward rule of each egress address the table has no rule for
   * yet; returns those addresses and their numbers (the caller records them once the transaction is in;
   * apply() keeps the numbers within MAX_EGRESS).
   */
  private addEntries(
    t: FamilyTable,
    b: NftBatch,
    add: { entry: KernelEntry; id: number }[],
  ): Map<string, number> {
    const fresh = new Map<string, number>();
    const items: [Buffer, Buffer, number][] = [];
    for (const { entry: e, id } of add) {
      let n = t.egress.get(e.eaddr) ?? fresh.get(e.eaddr);
      if (n === undefined) {
        n = t.egress.size + fresh.size + 1;
        fresh.set(e.eaddr, n);
        b.addEgress(n, e.eaddr);
      }
      items.push([elementKey(t.family, e), elementData(t.family, e, n), id]);
    }
    b.addElements(items);
    return fresh;
  }

  /** Sends one transaction; false (after a warning) when the kernel refused it or the socket failed. */
  private async send(b: NftBatch, what: string): Promise<boolean> {
    this.transactions++;
    let errs: NlError[];
    try {
      errs = await this.nl.apply(b);
    } catch (e) {
      errs = [{ seq: 0, errno: 0, message: (e as Error).message }];
    }
    if (errs.length) this.opts.log.warn(`kernel offload: ${what}: ${describe(errs)}`);
    return errs.length === 0;
  }

  /** After a failed transaction: rewrite every table's map from the state we believe in. */
  private async resync(): Promise<void> {
    for (const t of this.tables) {
      const fam = t.family === 'ip' ? 4 : 6;
      const entries: { entry: KernelEntry; id: number }[] = [];
      for (const [leg, st] of this.legs)
        if (st.installed && leg.family === fam) entries.push({ entry: st.installed, id: st.entryId });
      const b = this.nl.batch(t.family, t.table).flush();
      const fresh = this.addEntries(t, b, entries);
      if (!(await this.send(b, 'cannot resynchronise, media stays in userspace'))) {
        this.shutdown();
        return;
      }
      for (const [a, n] of fresh) t.egress.set(a, n);
    }
  }

  /**
   * Resolves once the legs hold kernel counters read at most `maxAgeMs` ago: at once when a read that recent
   * finished, else with a read in flight that started recent enough, else with the next read (shared with
   * every caller meanwhile). Never waits more than `waitMs`: if the kernel does not answer, the caller goes on with
   * the counters the legs have. Callers await it before reporting counters.
   */
  fresh(maxAgeMs = FRESH_MS, waitMs = FRESH_WAIT_MS): Promise<void> {
    if (this.disabled) return Promise.resolve();
    return within(this.reads.fresh(maxAgeMs), waitMs);
  }

  /** Reads the kernel's counters into the legs: a read that starts now, or right after the one in flight. */
  sync(): Promise<void> {
    return this.reads.next();
  }

  private syncPeriod(): number {
    const p = this.opts.syncMs;
    const ms = typeof p === 'function' ? p() : (p ?? SYNC_MS);
    return Number.isFinite(ms) && ms > 0 ? ms : SYNC_MS;
  }

  /** Reads when no read started for a period; runs every second (the period may change). */
  private periodicSync(): void {
    if (this.disabled) return;
    // Half a tick of slack: a 1 s period must not slip to 2 s because this tick came a little early.
    if (performance.now() - this.reads.lastStarted >= this.syncPeriod() - TICK_MS / 2) void this.sync();
  }

  /** Reads the kernel's counters into the legs (packets, payload bytes, last packet time). */
  private async readCounters(): Promise<void> {
    if (this.disabled || this.inKernel.size === 0) return;
    const now = Date.now();
    for (const t of this.tables) {
      let records: Buffer;
      try {
        records = await this.nl.counters(t.family, t.table);
      } catch (e) {
        this.opts.log.warn(`kernel offload: ${(e as Error).message}`);
        continue;
      }
      const hdr = headerBytes(t.family);
      eachCounter(records, (id, packets, bytes) => {
        const leg = this.inKernel.get(id);
        const st = leg && this.legs.get(leg);
        if (!leg || !st) return;
        const dp = packets - st.seenPackets;
        if (dp <= 0) return;
        const db = bytes - st.seenBytes;
        st.seenPackets = packets;
        st.seenBytes = bytes;
        const payload = Math.max(0, db - dp * hdr);
        leg.rtp.packets += dp;
        leg.rtp.bytes += payload;
        leg.lastPacket = now;
        if (leg.closed) this.opts.lateCounts?.(dp, payload);
      });
    }
  }

  /** Number of legs the kernel forwards now. */
  get kernelizedLegs(): number {
    let n = 0;
    for (const st of this.legs.values()) if (st.installed) n++;
    return n;
  }

  private shutdown(): void {
    this.disabled = true;
    this.untick?.();
    this.untick = null;
    for (const [leg, st] of this.legs) {
      st.installed = null;
      st.installedKey = '';
      leg.kernelized = false;
      if (leg.onChange === this.onChange) leg.onChange = null;
    }
    this.legs.clear();
    this.keys.clear();
    this.inKernel.clear();
    this.dirty.clear();
    this.nl.close();
  }

  /** Stops offloading: the netlink socket closes and the owned tables vanish with it. */
  close(): void {
    if (this.disabled) return;
    this.shutdown();
  }
}
