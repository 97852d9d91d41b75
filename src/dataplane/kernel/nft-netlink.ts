/**
 * The kernel dataplane's nf_tables ruleset as netlink messages (docs/kernel-offload.md explains it).
 *
 * One map lookup per packet does all the work. Its key is the packet's 4-tuple as the headers hold it (source
 * address . our address . source and our port in one word); its value, loaded into the registers the key came
 * from, is everything the rewrite needs side by side: the peer's address, our egress port and the peer's port
 * in one word, and a packet mark naming our egress address. The prerouting rule writes the address and the
 * port word straight from those registers and sets the mark; after routing, a forward rule per egress address
 * turns its mark into the source address (a local source set in prerouting would be dropped as a martian) and
 * clears the mark again. The nft command line has no syntax for writing a field from a slice of a map's
 * value, so these rules go to the kernel as netlink.
 *
 * A miss in the map ends the rule before any write (the gate: packets from anyone else reach the daemon's
 * sockets), and the map's elements carry the per-stream counters. RTCP (second byte 192-223, also when
 * multiplexed) and anything that is not RTP version 2 never match.
 *
 * Fewer expressions are fewer calls per packet: the two ports are loaded and written as one 32-bit word
 * (the UDP header holds them side by side), the two addresses are two loads, and the version check is a
 * range, not a mask and a compare.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { ipv6Bytes } from '../../wire/pcap.js';
import { NLM_F_ACK, NLM_F_APPEND, NLM_F_CREATE, NLM_F_DUMP, NLM_F_REQUEST, NlWriter } from './netlink.js';
import { type KernelEntry, type NftFamily, hostWord } from './ruleset.js';

const NFNL_SUBSYS_NFTABLES = 10;
const NFNL_MSG_BATCH_BEGIN = 16;
const NFNL_MSG_BATCH_END = 17;
const MSG = {
  NEWTABLE: 0,
  GETTABLE: 1,
  NEWCHAIN: 3,
  NEWRULE: 6,
  NEWSET: 9,
  NEWSETELEM: 12,
  GETSETELEM: 13,
  DELSETELEM: 14,
} as const;
const nftType = (cmd: number): number => (NFNL_SUBSYS_NFTABLES << 8) | cmd;

const NFPROTO = { ip: 2, ip6: 10 } as const;
const NFT_TABLE_F_OWNER = 2;
const NFT_SET_MAP = 0x8;
const HOOK = { prerouting: 0, forward: 2 } as const;
/** Registers: 32-bit register n is 8 + n. */
const R = (n: number): number => 8 + n;
/** The rule's scratch register for single bytes (NFT_REG_1's first word, like nft itself uses). */
const SCRATCH = 1;
const BASE = { network: 1, transport: 2 } as const;
const CSUM_INET = 1;
const L4CSUM_PSEUDOHDR = 1;
/**
 * nft's datatype ids, so `nft list` can show the map: ipv4_addr, ipv6_addr, mark. A port word has no type of
 * its own: it is listed as a mark, its header-order bytes read as a host-order integer (swapped on x86).
 */
const TYPE = { ipv4: 7, ipv6: 8, mark: 19 } as const;
const concatType = (...ids: number[]): number => ids.reduce((t, id) => ((t << 6) | id) >>> 0, 0);

/** Marks are 0x5350xxxx (xxxx: our egress address's index): between prerouting and the forward rule only. */
export const MARK_BASE = 0x53500000;
export const MAX_EGRESS = 0xffff;

export const MAP = 'streams';
/** Elements per message: an IPv6 element is ~90 bytes, and a nested attribute's length is 16 bits. */
const PER_MESSAGE = 500;
const PRE = 'pre';
const FWD = 'source';

/** Address bytes of one family (throws on a mismatch: the manager never mixes families in a table). */
function addrBytes(family: NftFamily, a: string): Buffer {
  if (family === 'ip') {
    if (!isIPv4(a)) throw new Error(`not an IPv4 address: ${a}`);
    return Buffer.from(a.split('.').map(Number));
  }
  if (!isIPv6(a)) throw new Error(`not an IPv6 address: ${a}`);
  return ipv6Bytes(a);
}

/** Two ports as the UDP header holds them (source, then destination; big-endian): one register. */
function ports(first: number, second: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt16BE(first);
  b.writeUInt16BE(second, 2);
  return b;
}

/** The map key of an entry: source address . our address . source port and our port. */
export function elementKey(
  family: NftFamily,
  e: Pick<KernelEntry, 'src' | 'sport' | 'laddr' | 'lport'>,
): Buffer {
  return Buffer.concat([addrBytes(family, e.src), addrBytes(family, e.laddr), ports(e.sport, e.lport)]);
}

/** The map value of an entry: peer address . egress port and peer port . mark of the egress address. */
export function elementData(family: NftFamily, e: KernelEntry, egress: number): Buffer {
  return Buffer.concat([addrBytes(family, e.dst), ports(e.eport, e.dport), hostWord(MARK_BASE | egress)]);
}

type Expr = [name: string, fill?: (w: NlWriter) => void];

const data = (w: NlWriter, type: number, v: Uint8Array): void => {
  w.nest(type, (n) => n.attr(1, v));
};
const meta = (key: number, dreg: number): Expr => ['meta', (w) => w.u32(2, key).u32(1, dreg)];
const metaSet = (key: number, sreg: number): Expr => ['meta', (w) => w.u32(2, key).u32(3, sreg)];
const cmp = (sreg: number, op: 0 | 1, v: Uint8Array): Expr => [
  'cmp',
  (w) => {
    w.u32(1, sreg).u32(2, op);
    data(w, 3, v);
  },
];
const load = (base: number, offset: number, len: number, dreg: number): Expr => [
  'payload',
  (w) => w.u32(1, dreg).u32(2, base).u32(3, offset).u32(4, len),
];
const write = (
  base: number,
  offset: number,
  len: number,
  sreg: number,
  csumType: number,
  csumOffset: number,
  flags: number,
): Expr => [
  'payload',
  (w) =>
    w.u32(5, sreg).u32(2, base).u32(3, offset).u32(4, len).u32(6, csumType).u32(7, csumOffset).u32(8, flags),
];
const bitwise = (reg: number, mask: Uint8Array, xor: Uint8Array): Expr => [
  'bitwise',
  (w) => {
    w.u32(1, reg).u32(2, reg).u32(3, mask.length);
    data(w, 4, mask);
    data(w, 5, xor);
  },
];
const range = (reg: number, op: 0 | 1, from: number, to: number): Expr => [
  'range',
  (w) => {
    w.u32(1, reg).u32(2, op);
    data(w, 3, Uint8Array.of(from));
    data(w, 4, Uint8Array.of(to));
  },
];
const lookup = (set: string, sreg: number, dreg: number): Expr => [
  'lookup',
  (w) => w.str(1, set).u32(2, sreg).u32(3, dreg),
];
const immediate = (dreg: number, v: Uint8Array): Expr => [
  'immediate',
  (w) => {
    w.u32(1, dreg);
    data(w, 2, v);
  },
];
const notrack: Expr = ['notrack'];

const META_MARK = 3;
const META_L4PROTO = 16;

/** The prerouting rule's expressions (see the file comment). */
export function preRule(family: NftFamily, tos?: number): Expr[] {
  const v4 = family === 'ip';
  const alen = v4 ? 4 : 16;
  const aregs = alen / 4;
  const saddrOff = v4 ? 12 : 8;
  const daddrOff = v4 ? 16 : 24;
  // Key registers: source address, our address, the port word.
  const kDaddr = R(aregs);
  const kPorts = R(2 * aregs);
  // Value registers (the lookup writes them over the key): peer address, port word, mark.
  const vPorts = R(aregs);
  const vMark = R(aregs + 1);
  const l3csum = v4 ? CSUM_INET : 0;
  const l3off = v4 ? 10 : 0;
  const exprs: Expr[] = [
    meta(META_L4PROTO, SCRATCH),
    cmp(SCRATCH, 0, Uint8Array.of(17)),
    // RTP version 2 (first byte 0x80-0xbf), and not RTCP (second byte 192-223).
    load(BASE.transport, 8, 1, SCRATCH),
    range(SCRATCH, 0, 0x80, 0xbf),
    load(BASE.transport, 9, 1, SCRATCH),
    range(SCRATCH, 1, 192, 223),
    load(BASE.network, saddrOff, alen, R(0)),
    load(BASE.network, daddrOff, alen, kDaddr),
    load(BASE.transport, 0, 4, kPorts),
    lookup(MAP, R(0), R(0)),
    notrack,
    write(BASE.network, daddrOff, alen, R(0), l3csum, l3off, L4CSUM_PSEUDOHDR),
    write(BASE.transport, 0, 4, vPorts, CSUM_INET, 6, 0),
    metaSet(META_MARK, vMark),
  ];
  if (tos !== undefined) {
    // DSCP is the upper six bits of the TOS / traffic class; ECN is left as the sender set it.
    const dscp = (tos >> 2) & 0x3f;
    const [mask, xor] = v4
      ? [Uint8Array.of(0xff, 0x03), Uint8Array.of(0, dscp << 2)]
      : [Uint8Array.of(0xf0, 0x3f), Uint8Array.of(dscp >> 2, (dscp & 3) << 6)];
    exprs.push(
      load(BASE.network, 0, 2, R(0)),
      bitwise(R(0), mask, xor),
      write(BASE.network, 0, 2, R(0), l3csum, l3off, 0),
    );
  }
  return exprs;
}

/** The forward rule of one egress address: its mark becomes the source address, then the mark is cleared. */
export function egressRule(family: NftFamily, egress: number, addr: string): Expr[] {
  const v4 = family === 'ip';
  return [
    meta(META_MARK, R(0)),
    cmp(R(0), 0, hostWord(MARK_BASE | egress)),
    immediate(R(0), addrBytes(family, addr)),
    write(BASE.network, v4 ? 12 : 8, v4 ? 4 : 16, R(0), v4 ? CSUM_INET : 0, v4 ? 10 : 0, L4CSUM_PSEUDOHDR),
    immediate(R(0), hostWord(0)),
    metaSet(META_MARK, R(0)),
  ];
}

/** One nf_tables transaction: BATCH_BEGIN, the messages, BATCH_END; every message asks for an ack. */
export class NftBatch {
  private readonly w = new NlWriter();
  private seq: number;

  constructor(
    private readonly family: NftFamily,
    private readonly table: string,
    seq: number,
  ) {
    this.seq = seq;
    this.w.begin(NFNL_MSG_BATCH_BEGIN, NLM_F_REQUEST, this.seq++, 0, NFNL_SUBSYS_NFTABLES).end();
  }

  private msg(cmd: number, flags: number, fill: (w: NlWriter) => void): this {
    this.w.begin(nftType(cmd), NLM_F_REQUEST | NLM_F_ACK | flags, this.seq++, NFPROTO[this.family]);
    fill(this.w);
    this.w.end();
    return this;
  }

  /** The owned table, its map, chains and the prerouting rule (egress rules come with their first entry). */
  createTable(tos?: number): this {
    const v4 = this.family === 'ip';
    const a = v4 ? TYPE.ipv4 : TYPE.ipv6;
    const alen = v4 ? 4 : 16;
    this.msg(MSG.NEWTABLE, NLM_F_CREATE, (w) => w.str(1, this.table).u32(2, NFT_TABLE_F_OWNER));
    this.msg(MSG.NEWSET, NLM_F_CREATE, (w) =>
      w
        .str(1, this.table)
        .str(2, MAP)
        .u32(3, NFT_SET_MAP)
        .u32(4, concatType(a, a, TYPE.mark))
        .u32(5, 2 * alen + 4)
        .u32(6, concatType(a, TYPE.mark, TYPE.mark))
        .u32(7, alen + 8)
        .u32(10, 1)
        .nest(17, (x) => x.str(1, 'counter').nest(2, () => {})),
    );
    this.chain(PRE, HOOK.prerouting, -300);
    this.chain(FWD, HOOK.forward, -150);
    return this.rule(PRE, preRule(this.family, tos));
  }

  private chain(name: string, hook: number, priority: number): void {
    this.msg(MSG.NEWCHAIN, NLM_F_CREATE, (w) =>
      w
        .str(1, this.table)
        .str(3, name)
        .nest(4, (h) => h.u32(1, hook).u32(2, priority))
        .u32(5, 1)
        .str(7, 'filter'),
    );
  }

  private rule(chain: string, exprs: Expr[]): this {
    return this.msg(MSG.NEWRULE, NLM_F_CREATE | NLM_F_APPEND, (w) =>
      w
        .str(1, this.table)
        .str(2, chain)
        .nest(4, (list) => {
          for (const [name, fill] of exprs)
            list.nest(1, (e) => {
              e.str(1, name);
              if (fill) e.nest(2, fill);
            });
        }),
    );
  }

  /** The forward rule of egress address number `egress` (once per address, before its first entry). */
  addEgress(egress: number, addr: string): this {
    return this.rule(FWD, egressRule(this.family, egress, addr));
  }

  /**
   * Adds map elements: [key, value, id] (several messages: a nested attribute holds at most 64 KiB). The id
   * (a safe integer) goes into the element's comment: counter reads name elements by it (eachCounter), and
   * `nft list` shows it.
   */
  addElements(items: [Buffer, Buffer, number?][]): this {
    for (let i = 0; i < items.length; i += PER_MESSAGE) this.addSome(items.slice(i, i + PER_MESSAGE));
    return this;
  }

  private addSome(items: [Buffer, Buffer, number?][]): this {
    return this.msg(MSG.NEWSETELEM, NLM_F_CREATE, (w) =>
      w
        .str(1, this.table)
        .str(2, MAP)
        .nest(3, (list) => {
          for (const [k, v, id] of items)
            list.nest(1, (el) => {
              data(el, 1, k);
              data(el, 2, v);
              if (id !== undefined) el.attr(6, elementComment(id));
            });
        }),
    );
  }

  /** Deletes map elements by key. */
  deleteElements(keys: Buffer[]): this {
    for (let i = 0; i < keys.length; i += PER_MESSAGE) this.deleteSome(keys.slice(i, i + PER_MESSAGE));
    return this;
  }

  private deleteSome(keys: Buffer[]): this {
    return this.msg(MSG.DELSETELEM, 0, (w) =>
      w
        .str(1, this.table)
        .str(2, MAP)
        .nest(3, (list) => {
          for (const k of keys) list.nest(1, (el) => data(el, 1, k));
        }),
    );
  }

  /** Deletes every element of the map. */
  flush(): this {
    return this.msg(MSG.DELSETELEM, 0, (w) => w.str(1, this.table).str(2, MAP));
  }

  finish(): { buffer: Buffer; nextSeq: number } {
    this.w.begin(NFNL_MSG_BATCH_END, NLM_F_REQUEST, this.seq++, 0, NFNL_SUBSYS_NFTABLES).end();
    return { buffer: this.w.take(), nextSeq: this.seq };
  }
}

/** A dump of every table (a probe: it fails without the permission to use nf_tables). */
export function tablesDumpRequest(seq: number): Buffer {
  return new NlWriter()
    .begin(nftType(MSG.GETTABLE), NLM_F_REQUEST | NLM_F_DUMP, seq, 0)
    .end()
    .take();
}

/** A dump request for the map's elements (with their counters). */
export function dumpRequest(family: NftFamily, table: string, seq: number): Buffer {
  return new NlWriter()
    .begin(nftType(MSG.GETSETELEM), NLM_F_REQUEST | NLM_F_DUMP, seq, NFPROTO[family])
    .str(1, table)
    .str(2, MAP)
    .end()
    .take();
}

/** Bytes per counter record (src/native/netlink.c: the addon parses dumps off the event loop). */
export const COUNTER_RECORD = 24;

/**
 * Calls `each` for every counter record (NativeRelayAddon.nftCounterRecords): the id the element was added
 * with (addElements), its packets and bytes.
 */
export function eachCounter(
  records: Buffer,
  each: (id: number, packets: number, bytes: number) => void,
): void {
  for (let off = 0; off + COUNTER_RECORD <= records.length; off += COUNTER_RECORD) {
    each(records.readDoubleLE(off), records.readDoubleLE(off + 8), records.readDoubleLE(off + 16));
  }
}

/** An element's userdata naming it: nft's comment TLV (type 0, length, NUL-terminated text), here the id. */
export function elementComment(id: number): Buffer {
  const text = Buffer.from(`${id}\0`, 'latin1');
  return Buffer.concat([Buffer.from([0, text.length]), text]);
}
