/**
 * Builds the SDP a recipient gets: the sender's SDP with our address and ports in place of the sender's.
 * Line order is kept; per media section the attributes we own (direction, rtcp, rtcp-mux) are re-emitted at
 * the end in rtpengine's order, so Kamailio setups see the same SDP shape as with rtpengine.
 */
import { type Sdp, type SdpMedia, iceAttributeNames, isDirection } from '../wire/sdp.js';
import type { MediaSide } from './call.js';
import type { SignalOptions } from './options.js';

export interface MediaPlan {
  /** The legs the recipient will send to (undefined: section rejected). */
  side: MediaSide | undefined;
  /** Tell the recipient to multiplex RTCP on the RTP port. */
  mux: boolean;
  /** Advertise the RTP port as the RTCP port (mux required or accepted). */
  rtcpOnRtpPort: boolean;
}

export interface RewritePlan {
  address: string;
  family: 4 | 6;
  media: MediaPlan[];
  isOffer: boolean;
  opts: SignalOptions;
}

function carriesRtcp(m: SdpMedia): boolean {
  return m.proto.toUpperCase().includes('RTP');
}

export function rewriteSdp(sdp: Sdp, plan: RewritePlan): string {
  const out = sdp.clone();
  const addrType = plan.family === 6 ? 'IP6' : 'IP4';
  const conn = { netType: 'IN', addrType, address: plan.address };
  const o = out.origin;
  if (o && plan.opts.replaceOrigin) out.origin = { ...o, addrType, address: plan.address };

  out.session.removeAttrs((name) => iceAttributeNames.has(name));
  const needsSession = out.media.some((m, i) => !m.connection && plan.media[i]?.side !== undefined);
  if (out.session.connection && (needsSession || plan.opts.replaceSessionConnection))
    out.session.connection = conn;

  out.media.forEach((m, i) => {
    const p = plan.media[i];
    if (!p?.side?.pair) {
      // A rejected section goes out bare, as rtpengine sends it.
      m.lines = m.lines.slice(0, 1);
      m.port = 0;
      return;
    }
    const rtpPort = p.side.pair.rtp.localPort;
    m.port = rtpPort;
    if (m.connection) m.connection = conn;
    const keepDirection = plan.opts.originalSendrecv === true;
    const direction = m.direction ?? out.session.direction ?? 'sendrecv';
    m.removeAttrs(
      (name) =>
        iceAttributeNames.has(name) ||
        name === 'rtcp' ||
        name === 'rtcp-mux' ||
        (!keepDirection && isDirection(name)),
    );
    if (plan.isOffer && plan.opts.generateMid && m.mid === undefined) {
      m.lines.splice(1, 0, { type: 'a', value: `mid:${i + 1}` });
    }
    if (!keepDirection) m.addAttr(direction);
    if (carriesRtcp(m)) {
      const mode = plan.opts.rtcpAttribute ?? 'default';
      const rtcpPort = p.rtcpOnRtpPort ? rtpPort : rtpPort + 1;
      if (mode === 'full') m.addAttr('rtcp', `${rtcpPort} IN ${addrType} ${plan.address}`);
      else if (mode === 'default') m.addAttr('rtcp', String(rtcpPort));
      if (p.mux) m.addAttr('rtcp-mux');
    }
  });
  return out.toString();
}
