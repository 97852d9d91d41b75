/**
 * What a control protocol asks of an offer or answer, in the engine's own terms. The ng and RTPproxy front
 * ends translate their wire options into this; the engine never sees protocol keys.
 */
import type { SrtpSuite } from '../media/srtp.js';
import type { CodecFilter } from './codec-filter.js';

export type RtcpMuxMode = 'offer' | 'require' | 'demux' | 'accept' | 'reject';

export interface SignalOptions {
  callId: string;
  fromTag: string;
  toTag?: string;
  viaBranch?: string;
  sdp: string;
  label?: string;
  /** Use the SIP source address (`receivedFrom`) instead of the SDP address as the first destination. */
  sipSourceAddress?: boolean;
  receivedFrom?: string;
  /** Endpoint learning: latch on the first packet (default), never, or follow every new source. */
  learning?: 'latch' | 'off' | 'handover';
  strictSource?: boolean;
  /** New local ports when the endpoint moved in a re-offer (rtpengine's default is to keep them). */
  noPortLatching?: boolean;
  /** Forget learned endpoints and direction state (the `reset` flag). */
  reset?: boolean;
  loopProtect?: boolean;
  originalSendrecv?: boolean;
  rtcpAttribute?: 'none' | 'full' | 'default';
  generateMid?: boolean;
  replaceOrigin?: boolean;
  replaceSessionConnection?: boolean;
  /** Address to put into SDP instead of the interface's. */
  mediaAddress?: string;
  /** Address family of the recipient's side (offer) — IPv4 <-> IPv6 bridging. */
  addressFamily?: 4 | 6;
  /** Interface names: [towards the sender of this SDP, towards its recipient]. */
  direction?: [string, string];
  rtcpMux?: RtcpMuxMode[];
  /** Strip ICE attributes (the only ICE mode so far; other modes strip too, with a warning). */
  iceRemove?: boolean;
  /** `ICE=force`: ICE is offered to WebRTC (DTLS) recipients (ICE-lite, engine/dtls-bridge); others get none. */
  iceForce?: boolean;
  /** `DTLS=off`: an SRTP recipient is offered SDES only (by default DTLS too, as rtpengine does). */
  dtlsOff?: boolean;
  /** `DTLS-fingerprint`: the hash of the fingerprint we give for our certificate (node:crypto's name; default sha256). */
  dtlsHash?: string;
  /**
   * `transport-protocol` on an offer: the protocol the recipient gets. Between RTP/AVP(F) and RTP/SAVP(F) the
   * proxy terminates SDES-SRTP on the SRTP side (engine/srtp-bridge); between RTP/AVP(F) and
   * UDP/TLS/RTP/SAVP(F), WebRTC's ICE and DTLS-SRTP on the browser's side (engine/dtls-bridge).
   */
  transportProtocol?:
    | 'RTP/AVP'
    | 'RTP/AVPF'
    | 'RTP/SAVP'
    | 'RTP/SAVPF'
    | 'UDP/TLS/RTP/SAVP'
    | 'UDP/TLS/RTP/SAVPF';
  /** SDES suites allowed (`SDES-no-*` / `SDES-only-*` flags); unset: all we support. */
  sdesSuites?: SrtpSuite[];
  /** Codecs to remove from the SDP the recipient gets (no transcoding involved). */
  codec?: CodecFilter;
  metadata?: string;
  /** TOS byte of the media the proxy sends for the whole call (ng `TOS`), 0-255. */
  tos?: number;
}

export interface SignalResult {
  sdp: string;
  warnings: string[];
}

/** A request the engine refuses: the front end reports `reason` to the client. */
export class EngineError extends Error {
  constructor(
    readonly reason: string,
    /** The refusal is a load limit (ng clients that support it get `result: load limit`). */
    readonly loadLimit = false,
  ) {
    super(reason);
    this.name = 'EngineError';
  }
}
