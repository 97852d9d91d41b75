/** SDP helpers the engine and its subscription commands share. */
import type { MediaSide } from './call.js';
import { EngineError } from './options.js';
import { Sdp, SdpError } from '../wire/sdp.js';

/** Parses an SDP body; a malformed one is the peer's error (EngineError, answered as `result: error`). */
export function parseSdp(text: string): Sdp {
  try {
    return Sdp.parse(text);
  } catch (e) {
    if (e instanceof SdpError) throw new EngineError(`Failed to parse SDP: ${e.message}`);
    throw e;
  }
}

/** The address family of the SDP's media (first connection found), undefined if none. */
export function familyOf(sdp: Sdp): 4 | 6 | undefined {
  for (const m of sdp.media) {
    const c = sdp.connectionOf(m);
    if (c) return c.addrType.toUpperCase() === 'IP6' ? 6 : 4;
  }
  const c = sdp.session.connection;
  if (c) return c.addrType.toUpperCase() === 'IP6' ? 6 : 4;
  return undefined;
}

/** The RTP and RTCP ports of a monologue's sections (each has legs). */
export function portsOf(m: { media: MediaSide[] }): { rtpPort: number; rtcpPort: number }[] {
  return m.media.map((s) => ({ rtpPort: s.pair!.rtp.localPort, rtcpPort: s.pair!.rtcp.localPort }));
}
