/**
 * The nftables ruleset of the kernel dataplane: stateless rewriting of plain RTP, gated on the latched source.
 * (docs/kernel-offload.md explains each rule.)
 *
 * A packet from S (address . port) to our local address L and port P whose 4-tuple is a key of the `daddr` map
 * is rewritten in prerouting and marked `notrack`: destination = the peer's endpoint, source port = our egress
 * leg's port, destination port = the peer's port; routing then forwards it, and postrouting sets the source
 * address to our egress address (a local source in prerouting would be dropped as a martian). The daemon's
 * sockets stay bound and see nothing. The `daddr` lookup is also the gate (a miss ends the rule before any
 * write) and carries the per-stream counters, so a packet costs four lookups in all.
 *
 * Map keys avoid the fields already rewritten: `daddr` is keyed by the original 4-tuple, `sport` by the original
 * source and local port, `dport` by the source address, the rewritten (egress) source port and the local port;
 * the postrouting map by the final destination and source port. The manager keeps these keys unique.
 *
 * RTCP (second byte 192-223, also when multiplexed on the RTP port) and anything that is not RTP version 2
 * never match, so the daemon keeps handling them.
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

/**
 * One transaction (one line) creating the owned table, its maps and chains. With `tos` (`--tos`), forwarded
 * packets get its DSCP (the upper six bits; ECN is left as the sender set it), as the sockets would send them.
 */
export function createTable(family: NftFamily, table: string, tos?: number): string {
  const a = family === 'ip' ? 'ipv4_addr' : 'ipv6_addr';
  const ipk = family === 'ip' ? 'ip' : 'ip6';
  const t = `${family} ${table}`;
  const key3 = `${a} . inet_service . inet_service`;
  const pre =
    `meta l4proto udp @th,64,2 2 @th,72,8 != 192-223 ` +
    `${ipk} daddr set ${ipk} saddr . udp sport . ${ipk} daddr . udp dport map @daddr notrack ` +
    `udp sport set ${ipk} saddr . udp sport . udp dport map @sport ` +
    `udp dport set ${ipk} saddr . udp sport . udp dport map @dport` +
    (tos === undefined ? '' : ` ${ipk} dscp set ${tos >> 2}`);
  const post = `ct state untracked meta l4proto udp ${ipk} saddr set ${ipk} daddr . udp dport . udp sport map @saddr`;
  return [
    `add table ${t} { flags owner; }`,
    `add map ${t} daddr { type ${a} . inet_service . ${a} . inet_service : ${a}; counter; }`,
    `add map ${t} sport { type ${key3} : inet_service; }`,
    `add map ${t} dport { type ${key3} : inet_service; }`,
    `add map ${t} saddr { type ${key3} : ${a}; }`,
    `add chain ${t} pre { type filter hook prerouting priority raw; policy accept; }`,
    `add chain ${t} post { type filter hook postrouting priority srcnat; policy accept; }`,
    `add rule ${t} pre ${pre}`,
    `add rule ${t} post ${post}`,
  ].join('; ');
}

/** The element of each set and map for one entry (key → value text as nft parses it). */
export function elements(e: KernelEntry): {
  daddr: string;
  sport: string;
  dport: string;
  saddr: string;
} {
  return {
    daddr: `${e.src} . ${e.sport} . ${e.laddr} . ${e.lport} : ${e.dst}`,
    sport: `${e.src} . ${e.sport} . ${e.lport} : ${e.eport}`,
    dport: `${e.src} . ${e.eport} . ${e.lport} : ${e.dport}`,
    saddr: `${e.dst} . ${e.dport} . ${e.eport} : ${e.eaddr}`,
  };
}

/** Keys that must be unique over installed entries, so no entry shadows another (`daddr`'s is implied by `i`). */
export function uniqueKeys(e: KernelEntry): string[] {
  return [
    `i|${e.src}|${e.sport}|${e.lport}`,
    `d|${e.src}|${e.eport}|${e.lport}`,
    `s|${e.dst}|${e.dport}|${e.eport}`,
  ];
}

/** Counter key of a `daddr` element (the stream's 4-tuple), as `list map` reports it. */
export function streamKey(src: string, sport: number, laddr: string, lport: number): string {
  return `${src}|${sport}|${laddr}|${lport}`;
}

const MAPS = ['daddr', 'sport', 'dport', 'saddr'] as const;

/** One transaction line: delete `remove`, then add `add` (a map's key cannot be re-added with new data). */
export function updateBatch(
  family: NftFamily,
  table: string,
  remove: KernelEntry[],
  add: KernelEntry[],
): string {
  const cmds: string[] = [];
  for (const [verb, list] of [
    ['delete', remove],
    ['add', add],
  ] as const) {
    if (list.length === 0) continue;
    const els = list.map(elements);
    for (const s of MAPS) {
      // The key alone names an element to delete.
      const items = els.map((x) => (verb === 'delete' ? x[s].split(' : ')[0]! : x[s]));
      cmds.push(`${verb} element ${family} ${table} ${s} { ${items.join(', ')} }`);
    }
  }
  return cmds.join('; ');
}

/** One transaction line that empties every map, then adds `entries` (recovery after a failure). */
export function resetBatch(family: NftFamily, table: string, entries: KernelEntry[]): string {
  const cmds = MAPS.map((s) => `flush map ${family} ${table} ${s}`);
  const add = updateBatch(family, table, [], entries);
  return add ? `${cmds.join('; ')}; ${add}` : cmds.join('; ');
}

export interface ElementCounter {
  key: string;
  packets: number;
  bytes: number;
}

/** Parses `nft -j list map ... daddr` into per-element counters; tolerant of anything unexpected. */
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
      if (!Array.isArray(v) || v.length !== 4 || !e?.counter) continue;
      out.push({
        key: streamKey(String(v[0]), Number(v[1]), String(v[2]), Number(v[3])),
        packets: Number(e.counter.packets ?? 0),
        bytes: Number(e.counter.bytes ?? 0),
      });
    }
  }
  return out;
}
