/**
 * What the kernel dataplane's tables hold: one entry per offloaded stream (the nf_tables messages that carry
 * them are in nft-netlink.ts; docs/kernel-offload.md explains the ruleset).
 */

/** nftables family of one table: IPv4 in `ip`, IPv6 in `ip6` (no IPv4<->IPv6 bridging in kernel). */
export type NftFamily = 'ip' | 'ip6';

export interface KernelEntry {
  /** The learned source of the stream (the party's endpoint). */
  src: string;
  sport: number;
  /** Our leg the party sends to. */
  laddr: string;
  lport: number;
  /** The peer's endpoint. */
  dst: string;
  dport: number;
  /** Our leg facing the peer (we send from it). */
  eaddr: string;
  eport: number;
}

/** IP + UDP header bytes counted by the kernel on top of the payload the daemon counts. */
export function headerBytes(family: NftFamily): number {
  return family === 'ip' ? 28 : 48;
}

export function tableName(family: NftFamily, suffix: string): string {
  return `sipmedia${family === 'ip6' ? '6' : ''}_${suffix}`;
}

/** A stream's 4-tuple as {@link parseCounters} names it. */
export function streamKey(src: string, sport: number, laddr: string, lport: number): string {
  return `${src}|${sport}|${laddr}|${lport}`;
}

export interface ElementCounter {
  key: string;
  packets: number;
  bytes: number;
}

/** A 32-bit register's bytes when it holds `n` in host byte order (as marks are held). */
export function hostWord(n: number): Buffer {
  return Buffer.from(new Uint32Array([n >>> 0]).buffer);
}

/**
 * The key's port word as nft lists it: the UDP header's two ports, shown as a mark (the register's bytes read
 * as a host-order integer).
 */
function portWord(n: number): [number, number] {
  const b = hostWord(n);
  return [b.readUInt16BE(0), b.readUInt16BE(2)];
}

/**
 * Parses `nft -j list map <family> <table> fwd` into per-element counters; tolerant of anything unexpected. The
 * daemon reads its counters over netlink; tests and benchmarks use this to check them with nft itself.
 */
export function parseCounters(json: string): ElementCounter[] {
  const out: ElementCounter[] = [];
  let doc: unknown;
  try {
    doc = JSON.parse(json);
  } catch {
    return out;
  }
  const items = (doc as { nftables?: unknown[] })?.nftables;
  if (!Array.isArray(items)) return out;
  for (const item of items) {
    const elems = (item as { map?: { elem?: unknown[] } })?.map?.elem;
    if (!Array.isArray(elems)) continue;
    // A map element is [key, data]; the key carries the element's counter.
    for (const pair of elems) {
      const el = Array.isArray(pair) ? pair[0] : undefined;
      const e = (
        el as { elem?: { val?: { concat?: unknown[] }; counter?: { packets?: number; bytes?: number } } }
      )?.elem;
      const v = e?.val?.concat;
      if (!Array.isArray(v) || v.length !== 3 || !e?.counter) continue;
      const [sport, lport] = portWord(Number(v[2]));
      out.push({
        key: streamKey(String(v[0]), sport, String(v[1]), lport),
        packets: Number(e.counter.packets ?? 0),
        bytes: Number(e.counter.bytes ?? 0),
      });
    }
  }
  return out;
}
