/** Reading a party's media endpoints out of its SDP, and pointing legs at them. */
import type { Endpoint, Learning } from '../dataplane/relay-leg.js';
import type { Sdp, SdpMedia } from '../wire/sdp.js';
import type { MediaSide } from './call.js';

function unspecified(address: string): boolean {
  return address === '0.0.0.0' || address === '::' || address === '';
}

export interface SdpEndpoints {
  rtp: Endpoint | null;
  rtcp: Endpoint | null;
}

/** The RTP and RTCP destinations a media section asks for; null for a hold address (0.0.0.0). */
export function endpointsOf(sdp: Sdp, m: SdpMedia, sourceAddress: string | undefined): SdpEndpoints {
  const c = sdp.connectionOf(m);
  const sdpAddress = c?.address.split('/')[0] ?? '';
  const address = sourceAddress && !unspecified(sdpAddress) ? sourceAddress : sdpAddress;
  if (unspecified(address)) return { rtp: null, rtcp: null };
  const rtp = { address, port: m.port };
  const r = m.rtcp;
  const rtcp = r
    ? { address: r.connection && !sourceAddress ? r.connection.address : address, port: r.port }
    : m.rtcpMux
      ? { address, port: m.port }
      : { address, port: m.port + 1 };
  return { rtp, rtcp };
}

function same(a: Endpoint | null, b: Endpoint | null): boolean {
  return a === b || (a !== null && b !== null && a.address === b.address && a.port === b.port);
}

/** True when the party's SDP moved its media to another address or port. */
export function moved(side: MediaSide, eps: SdpEndpoints): boolean {
  return side.rtpAdvertised !== null && !same(side.rtpAdvertised, eps.rtp);
}

export interface LegPolicy {
  learning: Learning;
  strict: boolean;
  /** Drop what was learned and start from the SDP again. */
  relearn: boolean;
}

/** Points the party's legs at the endpoints from its SDP, keeping a learned endpoint unless told to relearn. */
export function applyEndpoints(side: MediaSide, eps: SdpEndpoints, policy: LegPolicy): void {
  const changed = !same(side.rtpAdvertised, eps.rtp);
  side.rtpAdvertised = eps.rtp;
  side.rtcpAdvertised = eps.rtcp;
  const pair = side.pair;
  if (!pair) return;
  for (const [leg, ep] of [
    [pair.rtp, eps.rtp],
    [pair.rtcp, eps.rtcp],
  ] as const) {
    leg.advertised = ep;
    leg.learning = policy.learning;
    leg.strict = policy.strict;
    if (policy.relearn || changed || !leg.confirmed) {
      leg.endpoint = ep;
      leg.confirmed = false;
    }
  }
}

/** Connects two parties' legs so packets from each reach the other, RTCP to its multiplexed or own port. */
export function wire(a: MediaSide, b: MediaSide): void {
  const pa = a.pair;
  const pb = b.pair;
  if (!pa || !pb) return;
  pa.rtp.sink = pb.rtp;
  pb.rtp.sink = pa.rtp;
  const rtcpA = a.rtcpMux ? pa.rtp : pa.rtcp;
  const rtcpB = b.rtcpMux ? pb.rtp : pb.rtcp;
  pa.rtp.rtcpSink = rtcpB;
  pa.rtcp.sink = rtcpB;
  pb.rtp.rtcpSink = rtcpA;
  pb.rtcp.sink = rtcpA;
}
