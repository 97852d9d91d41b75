/**
 * The native relay addon (src/native/relay.c, built by node-gyp into build/Release) and its loader. The
 * loader never throws: without the addon the proxy runs the JavaScript dataplane.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** Item kinds the worker hands to JavaScript. */
export const ITEM_RTP = 0;
export const ITEM_ENDPOINT = 1;
export const ITEM_RTCP = 2;
/** A packet that is not RTP (STUN, DTLS) of a leg that asked for them (`configure`'s `other`). */
export const ITEM_OTHER = 3;

/** Called on the main thread for each queued item: a tapped leg's packet, or an endpoint change. */
/** `from`: the sender of an ITEM_OTHER packet, [address, port]. */
export type ItemCallback = (
  kind: number,
  slot: number,
  gen: number,
  packet: Buffer | undefined,
  from?: [string, number],
) => void;

/** A running relay: its worker threads and sockets. */
export interface RelayHandle {
  readonly __relay: unique symbol;
}

/** The addon's functions (see relay.c for each). */
export interface NativeRelayAddon {
  /** Bytes per leg slot in the shared ArrayBuffer. */
  readonly slotBytes: number;
  create(threads: number, capacity: number, onItem: ItemCallback): [RelayHandle, ArrayBuffer];
  destroy(h: RelayHandle): void;
  /** Binds a socket on address:port for a worker; returns gen * 2^22 + slot, or -errno. */
  open(h: RelayHandle, address: string, port: number, isRtcp: boolean, worker: number): number;
  /** Closes the socket: the port is free when this returns. */
  close(h: RelayHandle, slot: number): boolean;
  /** Returns the new endpoint generation (-1: the leg is closed). */
  setEndpoint(h: RelayHandle, slot: number, address: string | null, port: number): number;
  getEndpoint(h: RelayHandle, slot: number): [string, number] | null;
  /** learning: 0 latch, 1 off, 2 handover. */
  configure(
    h: RelayHandle,
    slot: number,
    learning: number,
    strict: boolean,
    blocked: boolean,
    tapped: boolean,
    /** Packets that are not RTP (STUN, DTLS) go to JavaScript (a WebRTC leg's `onOther`). */
    other: boolean,
  ): void;
  setConfirmed(h: RelayHandle, slot: number, confirmed: boolean): void;
  /** Slots of the sink legs, -1 for none. */
  setSinks(h: RelayHandle, slot: number, sink: number, rtcpSink: number): void;
  /** Out of the leg's socket to its party; encrypted when the leg does SRTP, unless `raw` (STUN, DTLS). */
  /** With `address`/`port` (raw only): to there instead of the leg's endpoint. */
  send(h: RelayHandle, slot: number, packet: Buffer, raw?: boolean, address?: string, port?: number): boolean;
  /** Puts thread `tid` of this process under SCHED_BATCH; 0 or the errno. */
  setBatchPolicy(tid: number): number;
  /** TOS byte of the leg's outgoing packets (IP_TOS, or IPV6_TCLASS on IPv6); 0 or the errno. */
  setTos(h: RelayHandle, slot: number, tos: number): number;
  /**
   * Converts the leg's forwarded RTP of `fromPt` into `toPt`: mode 0 through `table` (256 bytes), mode 1
   * G.722 to the law `law` (0 PCMU, 1 PCMA), mode 2 the law to G.722; telephone-event `evFrom` into `evTo`
   * (-1: none); fromPt -1 stops. False when it cannot (the caller converts in a tap).
   */
  setTranscode(
    h: RelayHandle,
    slot: number,
    fromPt: number,
    toPt: number,
    table: Buffer | null,
    evFrom: number,
    evTo: number,
    mode: number,
    law: number,
  ): boolean;
  /** The G.711 tables G.722 conversions use (encode 65536 bytes, decode 256 x int16), once per relay. */
  setLawTables(
    h: RelayHandle,
    ulawEncode: Buffer,
    alawEncode: Buffer,
    ulawDecode: Buffer,
    alawDecode: Buffer,
  ): boolean;
  /** SRTP on a leg in the worker (src/native/srtp.c): session key material or null per direction. */
  setSrtp?(h: RelayHandle, slot: number, rx: Buffer | null, tx: Buffer | null, tagBytes: number): boolean;
  /** SHA-256 fingerprint of the process's DTLS certificate (made on first use; src/native/dtls.c). */
  dtlsFingerprint?(): Buffer | undefined;
  /** A DTLS-SRTP endpoint in the server or client role. */
  dtlsNew?(server: boolean): DtlsHandle | undefined;
  /** A received datagram (null: only drive the handshake): datagrams to send, and the state. */
  dtlsFeed?(h: DtlsHandle, datagram: Buffer | null): DtlsStep;
  /** Milliseconds until the handshake's retransmission timer fires, or -1. */
  dtlsTimeoutMs?(h: DtlsHandle): number;
  dtlsOnTimeout?(h: DtlsHandle): DtlsStep;
  /** Once connected: the SRTP profile (1: AES_CM_128_HMAC_SHA1_80, 2: _32), key material, peer fingerprint. */
  /** The process's DTLS certificate (DER), to fingerprint it with other hashes than SHA-256. */
  dtlsCertificate?(): Buffer | undefined;
  dtlsSrtp?(
    h: DtlsHandle,
  ): { profile: number; material: Buffer; peerFingerprint: Buffer; peerCertificate: Buffer } | undefined;
  /** A netfilter netlink socket (kernel offload): the fd, or -errno. */
  netlinkOpen(): number;
  netlinkClose(fd: number): number;
  /**
   * Sends one buffer; resolves with the kernel's answers (a whole dump when `dump`), or with a set element
   * dump's counter records when `records` (see nftCounterRecords). One at a time per fd.
   */
  netlinkRequest(fd: number, request: Buffer, dump: boolean, records?: boolean): Promise<Buffer>;
  /**
   * A set element dump reduced to 64-byte records ([0] key length, [8] packets and [16] bytes as
   * little-endian doubles, [24] the key), or a negative errno when the dump carries an error.
   */
  nftCounterRecords(dump: Buffer): Buffer | number;
}

/** A DTLS endpoint inside the addon (freed with its last reference). */
export type DtlsHandle = { readonly __dtls: unique symbol };
/** What a DTLS call did: datagrams to send; state 0 handshaking, 1 connected, 2 failed, 3 closed by the peer. */
export interface DtlsStep {
  out: Buffer[];
  state: 0 | 1 | 2 | 3;
  error?: string;
}

/** Where node-gyp puts the addon, relative to this file in src/ or dist/. */
export const ADDON_PATH = fileURLToPath(
  new URL('../../../build/Release/sipmedia_relay.node', import.meta.url),
);

/** Why the last {@link loadNativeRelay} returned null. */
export let loadError = '';

let cached: NativeRelayAddon | null | undefined;

/** Loads the addon once; null (with {@link loadError} set) when it is missing or does not load. */
export function loadNativeRelay(): NativeRelayAddon | null {
  if (cached !== undefined) return cached;
  cached = null;
  if (!existsSync(ADDON_PATH)) {
    loadError = `${ADDON_PATH} is not built (npm install builds it; see scripts/build-native.mjs)`;
    return null;
  }
  try {
    const addon = createRequire(import.meta.url)(ADDON_PATH) as NativeRelayAddon;
    if (
      typeof addon.create !== 'function' ||
      typeof addon.setTos !== 'function' ||
      typeof addon.setTranscode !== 'function' ||
      typeof addon.setLawTables !== 'function' ||
      typeof addon.netlinkRequest !== 'function' ||
      typeof addon.nftCounterRecords !== 'function' ||
      addon.slotBytes !== 96
    ) {
      loadError = `${ADDON_PATH} is not the expected build (rebuild with scripts/build-native.mjs)`;
      return null;
    }
    cached = addon;
  } catch (e) {
    loadError = `cannot load ${ADDON_PATH}: ${(e as Error).message.split('\n')[0]}`;
  }
  return cached;
}
