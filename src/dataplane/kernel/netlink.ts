/**
 * Netlink framing for the nf_tables messages of the kernel offload: a writer for messages and nested
 * attributes, a reader for the kernel's answers. (Layout: RFC 3549 and linux/netlink.h; every nf_tables
 * integer attribute is big-endian, the netlink headers themselves are host order, i.e. little-endian here.)
 */

export const NLM_F_REQUEST = 0x1;
export const NLM_F_MULTI = 0x2;
export const NLM_F_ACK = 0x4;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;
export const NLM_F_APPEND = 0x800;
export const NLM_F_DUMP = 0x300;
const NLM_F_ACK_TLVS = 0x200;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
const NLA_F_NESTED = 0x8000;
const NLMSGERR_ATTR_MSG = 1;

const align4 = (n: number): number => (n + 3) & ~3;

/** Builds a buffer of netlink messages, each `nlmsghdr` + `nfgenmsg` + attributes. */
export class NlWriter {
  private buf = Buffer.alloc(4096);
  private len = 0;
  private msgStart = -1;
  private readonly nests: number[] = [];

  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = Buffer.alloc(size);
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }

  get length(): number {
    return this.len;
  }

  /** Starts a message: type, flags, sequence, then nfgenmsg (family, version 0, res_id big-endian). */
  begin(type: number, flags: number, seq: number, family: number, resId = 0): this {
    this.reserve(20);
    this.msgStart = this.len;
    const b = this.buf;
    b.writeUInt32LE(0, this.len);
    b.writeUInt16LE(type, this.len + 4);
    b.writeUInt16LE(flags, this.len + 6);
    b.writeUInt32LE(seq >>> 0, this.len + 8);
    b.writeUInt32LE(0, this.len + 12);
    b.writeUInt8(family, this.len + 16);
    b.writeUInt8(0, this.len + 17);
    b.writeUInt16BE(resId, this.len + 18);
    this.len += 20;
    return this;
  }

  end(): this {
    if (this.nests.length) throw new Error('netlink: unclosed nest');
    this.buf.writeUInt32LE(this.len - this.msgStart, this.msgStart);
    this.msgStart = -1;
    return this;
  }

  attr(type: number, data: Uint8Array): this {
    const n = 4 + data.length;
    this.reserve(align4(n));
    this.buf.writeUInt16LE(n, this.len);
    this.buf.writeUInt16LE(type, this.len + 2);
    this.buf.set(data, this.len + 4);
    this.buf.fill(0, this.len + n, this.len + align4(n));
    this.len += align4(n);
    return this;
  }

  str(type: number, s: string): this {
    return this.attr(type, Buffer.from(`${s}\0`, 'utf8'));
  }

  u32(type: number, v: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(v >>> 0);
    return this.attr(type, b);
  }

  /** A nested attribute; `fill` writes its contents. */
  nest(type: number, fill: (w: this) => void): this {
    this.reserve(4);
    const at = this.len;
    this.buf.writeUInt16LE(type | NLA_F_NESTED, at + 2);
    this.len += 4;
    this.nests.push(at);
    fill(this);
    this.nests.pop();
    if (this.len - at > 0xffff) throw new Error('netlink: nested attribute over 64 KiB');
    this.buf.writeUInt16LE(this.len - at, at);
    return this;
  }

  /** The messages written so far (a copy). */
  take(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.len));
  }
}

export interface NlMessage {
  type: number;
  flags: number;
  seq: number;
  /** After nlmsghdr (for nf_tables messages: nfgenmsg, then attributes). */
  body: Buffer;
}

/** Splits a buffer of netlink messages; stops at anything malformed. */
export function* messages(buf: Buffer): Generator<NlMessage> {
  let off = 0;
  while (off + 16 <= buf.length) {
    const len = buf.readUInt32LE(off);
    if (len < 16 || off + len > buf.length) return;
    yield {
      type: buf.readUInt16LE(off + 4),
      flags: buf.readUInt16LE(off + 6),
      seq: buf.readUInt32LE(off + 8),
      body: buf.subarray(off + 16, off + len),
    };
    off += align4(len);
  }
}

/** Attributes of a region: type (flags masked off) → data; a repeated type keeps the last one. */
export function attrs(buf: Buffer): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  for (const [t, d] of attrList(buf)) out.set(t, d);
  return out;
}

/** Attributes of a region in order (for lists of the same type). */
export function attrList(buf: Buffer): [number, Buffer][] {
  const out: [number, Buffer][] = [];
  let off = 0;
  while (off + 4 <= buf.length) {
    const len = buf.readUInt16LE(off);
    if (len < 4 || off + len > buf.length) break;
    out.push([buf.readUInt16LE(off + 2) & 0x3fff, buf.subarray(off + 4, off + len)]);
    off += align4(len);
  }
  return out;
}

export interface NlError {
  seq: number;
  /** A positive errno. */
  errno: number;
  /** The kernel's extended-ack text, when it gave one. */
  message?: string;
}

/** The errors in a batch's answers (acks, error code 0, are skipped). */
export function errors(reply: Buffer): NlError[] {
  const out: NlError[] = [];
  for (const m of messages(reply)) {
    if (m.type !== NLMSG_ERROR || m.body.length < 4) continue;
    const code = m.body.readInt32LE(0);
    if (code === 0) continue;
    const e: NlError = { seq: m.seq, errno: -code };
    // With NETLINK_CAP_ACK the quoted request is its 16-byte header; extended-ack attributes follow.
    if (m.flags & NLM_F_ACK_TLVS && m.body.length > 20) {
      const text = attrs(m.body.subarray(20)).get(NLMSGERR_ATTR_MSG);
      if (text) e.message = text.toString('utf8').replace(/\0.*$/s, '');
    }
    out.push(e);
  }
  return out;
}
