/**
 * SRTP and SRTCP (RFC 3711) with the SDES suites AES_CM_128_HMAC_SHA1_80 and AES_CM_128_HMAC_SHA1_32
 * (RFC 4568): AES-128 in counter mode, HMAC-SHA1 authentication, session keys derived from the master key
 * and salt with key derivation rate 0. One {@link SrtpContext} per direction and master key: it protects
 * what we send with that key, or unprotects what a party sends with its own.
 */
import { type Cipher, createCipheriv, createHmac, timingSafeEqual } from 'node:crypto';

/** SSRCs whose rollover state one context keeps. */
const MAX_SSRCS = 64;
/** Packets behind the highest one received that are still accepted, once each (RFC 3711 3.3.2). */
const REPLAY_WINDOW = 64n;

interface SsrcState {
  roc: number;
  /** Highest sequence number sent or received (with `roc`: the highest index). */
  seq: number;
  /** Receiving: bit k set when the index `k` below the highest was received. */
  seen?: bigint;
}

export type SrtpSuite = 'AES_CM_128_HMAC_SHA1_80' | 'AES_CM_128_HMAC_SHA1_32';
export const SRTP_SUITES: readonly SrtpSuite[] = ['AES_CM_128_HMAC_SHA1_80', 'AES_CM_128_HMAC_SHA1_32'];

/** Master key (16 bytes) and salt (14 bytes), as `inline:` carries them concatenated. */
export const MASTER_KEY_BYTES = 16;
export const MASTER_SALT_BYTES = 14;

/**
 * Session key material for the native relay (src/native/srtp.h): SRTP key, auth key and salt, then SRTCP's
 * (100 bytes), from `inline:` key material.
 */
export function sessionMaterial(inline: string): Buffer {
  const b = Buffer.from(inline, 'base64');
  const key = b.subarray(0, MASTER_KEY_BYTES);
  const salt = b.subarray(MASTER_KEY_BYTES, MASTER_KEY_BYTES + MASTER_SALT_BYTES);
  return Buffer.concat(
    [0, 3].flatMap((base) => [
      deriveKey(key, salt, base, 16),
      deriveKey(key, salt, base + 1, 20),
      deriveKey(key, salt, base + 2, 14),
    ]),
  );
}

/** SRTP authentication tag bytes of a suite (SRTCP's is always 10). */
export function tagBytes(suite: SrtpSuite): number {
  return suite === 'AES_CM_128_HMAC_SHA1_32' ? 4 : 10;
}

/** The AES-CM PRF of RFC 3711 4.3.3: `length` bytes of keystream keyed by the master key at `label`. */
export function deriveKey(masterKey: Buffer, masterSalt: Buffer, label: number, length: number): Buffer {
  const iv = Buffer.alloc(16);
  masterSalt.copy(iv, 0);
  // key_id = label || r (r = 0 with key derivation rate 0), XORed into the salt's low end (byte 7 of 14).
  iv[7]! ^= label;
  const c = createCipheriv('aes-128-ctr', masterKey, iv);
  return c.update(Buffer.alloc(length));
}

interface SessionKeys {
  /** AES-128 of the session key as a reusable block cipher: counter mode is built on it (no cipher per packet). */
  encrypt: Cipher;
  auth: Buffer;
  salt: Buffer;
}

function sessionKeys(masterKey: Buffer, masterSalt: Buffer, base: number): SessionKeys {
  return {
    encrypt: createCipheriv('aes-128-ecb', deriveKey(masterKey, masterSalt, base, 16), null).setAutoPadding(
      false,
    ),
    auth: deriveKey(masterKey, masterSalt, base + 1, 20),
    salt: deriveKey(masterKey, masterSalt, base + 2, 14),
  };
}

/** The counter-mode IV: salt * 2^16 XOR SSRC * 2^64 XOR index * 2^16 (index up to 48 bits). */
function ivFor(salt: Buffer, ssrc: number, index: number): Buffer {
  const iv = Buffer.alloc(16);
  salt.copy(iv, 0);
  iv.writeUInt32BE((iv.readUInt32BE(4) ^ ssrc) >>> 0, 4);
  const hi = Math.floor(index / 0x1_0000_0000);
  iv.writeUInt16BE(iv.readUInt16BE(8) ^ (hi & 0xffff), 8);
  iv.writeUInt32BE((iv.readUInt32BE(10) ^ index) >>> 0, 10);
  return iv;
}

/** `length` bytes of SRTP keystream for a session key and salt, SSRC and packet index (RFC 3711 B.2). */
export function keystream(key: Buffer, salt: Buffer, ssrc: number, index: number, length: number): Buffer {
  const out = Buffer.alloc(length);
  ctr(createCipheriv('aes-128-ecb', key, null).setAutoPadding(false), ivFor(salt, ssrc, index), out, out, 0);
  return out;
}

/**
 * AES counter mode with a reusable block cipher: the counter blocks IV, IV + 1, ... (the IV's low 16 bits are
 * zero and a packet has fewer than 65536 blocks, so only they count) encrypted in one call, XORed into `out`.
 */
function ctr(aes: Cipher, iv: Buffer, data: Buffer, out: Buffer, at: number): void {
  const blocks = (data.length + 15) >> 4;
  const counters = Buffer.allocUnsafe(blocks * 16);
  for (let i = 0; i < blocks; i++) {
    iv.copy(counters, i * 16);
    counters.writeUInt16BE(i, i * 16 + 14);
  }
  const ks = aes.update(counters);
  for (let i = 0; i < data.length; i++) out[at + i] = data[i]! ^ ks[i]!;
}

/** Where an RTP packet's payload starts (after CSRCs and a header extension), or -1. */
function payloadOffset(p: Buffer, end: number): number {
  if (end < 12) return -1;
  let off = 12 + (p[0]! & 0x0f) * 4;
  if (p[0]! & 0x10) {
    if (off + 4 > end) return -1;
    off += 4 + p.readUInt16BE(off + 2) * 4;
  }
  return off <= end ? off : -1;
}

export class SrtpContext {
  private readonly rtp: SessionKeys;
  private readonly rtcp: SessionKeys;
  readonly tagBytes: number;
  /** Sending: rollover counters and last sequence per SSRC; receiving: highest index seen per SSRC. */
  private readonly roc = new Map<number, SsrcState>();
  private rtcpIndex = 0;
  /** Receiving SRTCP: the highest index seen per SSRC and which of the 64 before it arrived (replay list). */
  private readonly rtcpSeen = new Map<number, { top: number; seen: bigint }>();
  /** Packets that failed authentication or were malformed (dropped). */
  failures = 0;

  constructor(
    readonly suite: SrtpSuite,
    masterKey: Buffer,
    masterSalt: Buffer,
  ) {
    if (masterKey.length !== MASTER_KEY_BYTES || masterSalt.length !== MASTER_SALT_BYTES)
      throw new Error('SRTP master key must be 16 bytes and salt 14');
    this.rtp = sessionKeys(masterKey, masterSalt, 0);
    this.rtcp = sessionKeys(masterKey, masterSalt, 3);
    this.tagBytes = suite === 'AES_CM_128_HMAC_SHA1_32' ? 4 : 10;
  }

  /** Per-SSRC state, bounded: a stream rarely has more than a couple of SSRCs; the oldest goes first. */
  private remember(ssrc: number, s: SsrcState): void {
    if (this.roc.size >= MAX_SSRCS) this.roc.delete(this.roc.keys().next().value!);
    this.roc.set(ssrc, s);
  }

  /** From `inline:` key material (base64 of key || salt). */
  static fromInline(suite: SrtpSuite, inline: string): SrtpContext {
    const b = Buffer.from(inline, 'base64');
    if (b.length !== MASTER_KEY_BYTES + MASTER_SALT_BYTES)
      throw new Error('SRTP key material must be 30 bytes');
    return new SrtpContext(suite, b.subarray(0, 16), b.subarray(16));
  }

  private tag(keys: SessionKeys, data: Buffer, trailer: Buffer | undefined, bytes: number): Buffer {
    const h = createHmac('sha1', keys.auth).update(data);
    if (trailer) h.update(trailer);
    return h.digest().subarray(0, bytes);
  }

  /** SRTP packet for an RTP packet we send (encrypted payload + tag), or null when it is not RTP. */
  protectRtp(p: Buffer): Buffer | null {
    const off = payloadOffset(p, p.length);
    if (off < 0) return null;
    const ssrc = p.readUInt32BE(8);
    const seq = p.readUInt16BE(2);
    let s = this.roc.get(ssrc);
    if (!s) {
      s = { roc: 0, seq };
      this.remember(ssrc, s);
    } else {
      // A wrap of the sequence (a jump back by more than half the space) starts the next rollover.
      if (seq < s.seq && s.seq - seq > 0x8000) s.roc = (s.roc + 1) >>> 0;
      if (((seq - s.seq) & 0xffff) < 0x8000) s.seq = seq;
    }
    const index = s.roc * 0x10000 + seq;
    const out = Buffer.allocUnsafe(p.length + this.tagBytes);
    p.copy(out, 0, 0, off);
    ctr(this.rtp.encrypt, ivFor(this.rtp.salt, ssrc, index), p.subarray(off), out, off);
    const roc = Buffer.alloc(4);
    roc.writeUInt32BE(s.roc);
    this.tag(this.rtp, out.subarray(0, p.length), roc, this.tagBytes).copy(out, p.length);
    return out;
  }

  /** The RTP packet inside an SRTP packet a party sent, or null (not authentic, malformed: counted). */
  unprotectRtp(p: Buffer): Buffer | null {
    const end = p.length - this.tagBytes;
    const off = payloadOffset(p, end);
    if (off < 0) {
      this.failures++;
      return null;
    }
    const ssrc = p.readUInt32BE(8);
    const seq = p.readUInt16BE(2);
    const s = this.roc.get(ssrc);
    // RFC 3711 3.3.1: guess the rollover counter from the highest sequence number seen.
    let v = s?.roc ?? 0;
    if (s) {
      if (s.seq < 0x8000) {
        if (seq - s.seq > 0x8000) v = s.roc - 1;
      } else if (s.seq - 0x8000 > seq) v = s.roc + 1;
    }
    const index = v * 0x10000 + seq;
    const behind = s ? BigInt(s.roc * 0x10000 + s.seq - index) : -1n;
    // Replayed, or too old to tell: dropped before any crypto work.
    if (v < 0 || behind >= REPLAY_WINDOW || (behind >= 0n && ((s!.seen ?? 0n) >> behind) & 1n)) {
      this.failures++;
      return null;
    }
    const roc = Buffer.alloc(4);
    roc.writeUInt32BE(v >>> 0);
    const tag = this.tag(this.rtp, p.subarray(0, end), roc, this.tagBytes);
    if (!timingSafeEqual(tag, p.subarray(end))) {
      this.failures++;
      return null;
    }
    if (!s) this.remember(ssrc, { roc: v, seq, seen: 1n });
    else if (behind < 0n) {
      const ahead = -behind;
      s.seen = ahead >= REPLAY_WINDOW ? 1n : (((s.seen ?? 0n) << ahead) | 1n) & ((1n << REPLAY_WINDOW) - 1n);
      s.roc = v;
      s.seq = seq;
    } else s.seen = (s.seen ?? 0n) | (1n << behind);
    const out = Buffer.allocUnsafe(end);
    p.copy(out, 0, 0, off);
    ctr(this.rtp.encrypt, ivFor(this.rtp.salt, ssrc, v * 0x10000 + seq), p.subarray(off, end), out, off);
    return out;
  }

  /** SRTCP packet for an RTCP packet we send (everything after the first 8 bytes encrypted), or null. */
  protectRtcp(p: Buffer): Buffer | null {
    if (p.length < 8) return null;
    const index = this.rtcpIndex;
    this.rtcpIndex = (this.rtcpIndex + 1) & 0x7fffffff;
    const out = Buffer.allocUnsafe(p.length + 4 + 10);
    p.copy(out, 0, 0, 8);
    ctr(this.rtcp.encrypt, ivFor(this.rtcp.salt, p.readUInt32BE(4), index), p.subarray(8), out, 8);
    out.writeUInt32BE((0x80000000 | index) >>> 0, p.length);
    this.tag(this.rtcp, out.subarray(0, p.length + 4), undefined, 10).copy(out, p.length + 4);
    return out;
  }

  /**
   * RFC 3711 3.3.2 for SRTCP: an authentic packet whose index was seen, or is more than 64 behind the highest,
   * is a replay. Records the index otherwise (per SSRC, at most {@link MAX_SSRCS} of them).
   */
  private freshRtcp(ssrc: number, index: number): boolean {
    const st = this.rtcpSeen.get(ssrc);
    if (!st) {
      if (this.rtcpSeen.size >= MAX_SSRCS) this.rtcpSeen.delete(this.rtcpSeen.keys().next().value!);
      this.rtcpSeen.set(ssrc, { top: index, seen: 1n });
      return true;
    }
    const behind = BigInt(st.top - index);
    if (behind >= REPLAY_WINDOW || (behind >= 0n && (st.seen >> behind) & 1n)) return false;
    if (behind < 0n) {
      const ahead = -behind;
      st.seen = ahead >= REPLAY_WINDOW ? 1n : ((st.seen << ahead) | 1n) & ((1n << REPLAY_WINDOW) - 1n);
      st.top = index;
    } else st.seen |= 1n << behind;
    return true;
  }

  /** The RTCP packet inside an SRTCP packet, or null (not authentic, malformed, replayed: counted). */
  unprotectRtcp(p: Buffer): Buffer | null {
    const end = p.length - 10 - 4;
    if (end < 8) {
      this.failures++;
      return null;
    }
    const tag = this.tag(this.rtcp, p.subarray(0, end + 4), undefined, 10);
    if (!timingSafeEqual(tag, p.subarray(end + 4))) {
      this.failures++;
      return null;
    }
    const word = p.readUInt32BE(end);
    if (!this.freshRtcp(p.readUInt32BE(4), word & 0x7fffffff)) {
      this.failures++;
      return null;
    }
    const out = Buffer.allocUnsafe(end);
    p.copy(out, 0, 0, 8);
    if (word & 0x80000000)
      ctr(
        this.rtcp.encrypt,
        ivFor(this.rtcp.salt, p.readUInt32BE(4), word & 0x7fffffff),
        p.subarray(8, end),
        out,
        8,
      );
    else p.copy(out, 8, 8, end);
    return out;
  }
}
