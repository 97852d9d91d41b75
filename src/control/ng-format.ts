/** Engine state as ng reply dictionaries, in the shapes rtpengine gives (see the captured query reply). */
import type { Endpoint, RelayLeg } from '../dataplane/relay-leg.js';
import type { Call, MediaSide, Monologue } from '../engine/call.js';
import type { Engine } from '../engine/engine.js';
import type { MediaService } from '../engine/media-control.js';
import { Playback } from '../engine/playback.js';
import type { BDict, BValue } from '../wire/bencode.js';
import { isIPv6 } from 'node:net';

const sec = (ms: number) => Math.floor(ms / 1000);
const family = (a: string) => (isIPv6(a) ? 'IPv6' : 'IPv4');

function endpoint(e: Endpoint | null): BDict {
  if (!e) return {};
  return { family: family(e.address), address: e.address, port: e.port };
}

/**
 * `kernelized` while the kernel forwards the stream. Its counters need no merging here: the kernel offload
 * manager adds the kernel's per-entry counters into the leg's own counters as it reads them.
 */
function offloadFlags(leg: RelayLeg): string[] {
  return leg.kernelized ? ['kernelized'] : [];
}

function stream(leg: RelayLeg, isRtcp: boolean): BDict {
  const flags: string[] = [isRtcp ? 'RTCP' : 'RTP'];
  if (leg.endpoint) flags.push('filled');
  if (leg.confirmed) flags.push('confirmed');
  if (leg.strict) flags.push('strict source');
  if (leg.learning === 'handover') flags.push('media handover');
  if (leg.learning === 'off') flags.push('asymmetric');
  if (leg.blocked) flags.push('blocked');
  flags.push(...offloadFlags(leg));
  const c = isRtcp ? leg.rtcp : leg.rtp;
  // Multiplexed RTCP arriving on the RTP port is counted with that stream, as rtpengine does.
  const extra = isRtcp ? { packets: 0, bytes: 0, errors: 0 } : leg.rtcp;
  return {
    'local port': leg.localPort,
    'local address': leg.localAddress,
    family: family(leg.localAddress),
    endpoint: endpoint(leg.endpoint),
    'advertised endpoint': endpoint(leg.advertised),
    'last packet': sec(leg.lastPacket),
    flags,
    stats: {
      packets: c.packets + extra.packets,
      bytes: c.bytes + extra.bytes,
      errors: c.errors + extra.errors,
      dropped: leg.dropped,
    },
  };
}

function media(s: MediaSide): BDict {
  const flags: string[] = ['initialized'];
  if (s.direction === 'sendrecv' || s.direction === 'sendonly') flags.push('send');
  if (s.direction === 'sendrecv' || s.direction === 'recvonly') flags.push('recv');
  if (s.rtcpMux) flags.push('rtcp-mux');
  if (s.rejected) flags.push('rejected');
  if (s.sdes?.rx && !s.dtls) flags.push('SDES');
  const streams: BValue[] = [];
  if (s.pair) streams.push(stream(s.pair.rtp, false), stream(s.pair.rtcp, true));
  const out: BDict = { index: s.index, type: s.kind, protocol: s.proto, streams, flags };
  // DTLS-SRTP towards a WebRTC (or other DTLS) party: where the handshake stands, and why media is held.
  const d = s.dtls;
  if (d) {
    flags.push('DTLS');
    if (d.advertiseIce) flags.push('ICE-lite');
    const state = d.connected ? 'connected' : d.error ? 'failed' : d.handle ? 'handshaking' : 'waiting';
    out.DTLS = { state, ...(d.error && { error: d.error }) };
    // The RTCP component's own handshake (a peer without rtcp-mux), when there was one.
    const r = d.rtcp;
    if (r) {
      const rtcp = s.sdes?.rtcp ? 'connected' : r.error ? 'failed' : r.finished ? 'verifying' : 'handshaking';
      out.DTLS.rtcp = { state: rtcp, ...(r.error && { error: r.error }) };
    }
  }
  return out;
}

function tag(m: Monologue): BDict {
  const d: BDict = { tag: m.tag, created: sec(m.created), medias: m.media.map(media) };
  if (m.label !== undefined) d.label = m.label;
  if (m.peer) d['in dialogue with'] = m.peer.tag;
  if (m.viaBranch !== undefined) d['via-branch'] = m.viaBranch;
  return d;
}

export function callTotals(call: Call): BDict {
  const t = { RTP: { packets: 0, bytes: 0, errors: 0 }, RTCP: { packets: 0, bytes: 0, errors: 0 } };
  for (const p of call.pairs()) {
    for (const leg of [p.rtp, p.rtcp]) {
      t.RTP.packets += leg.rtp.packets;
      t.RTP.bytes += leg.rtp.bytes;
      t.RTP.errors += leg.rtp.errors;
      t.RTCP.packets += leg.rtcp.packets;
      t.RTCP.bytes += leg.rtcp.bytes;
      t.RTCP.errors += leg.rtcp.errors;
    }
  }
  return t;
}

/** The `query` reply (also the body of `delete` replies without `fast`). */
export function formatCall(call: Call): BDict {
  const tags: BDict = {};
  call.monologues.forEach((m, i) => {
    tags[m.tag || `(untagged branch ${m.viaBranch ?? i})`] = tag(m);
  });
  const d: BDict = {
    created: sec(call.created),
    created_us: (call.created % 1000) * 1000,
    'last signal': sec(call.lastSignal),
    tags,
    totals: callTotals(call),
  };
  if (call.metadata !== undefined) d.metadata = call.metadata;
  if (call.deleteAt) d['deletion scheduled'] = sec(call.deleteAt);
  return d;
}

/** The `statistics` reply: rtpengine's sections, with the counters we keep. */
export function formatStatistics(engine: Engine, control: Record<string, number>): BDict {
  const s = engine.stats;
  const live = { packets: 0, bytes: 0, errors: 0 };
  for (const c of engine.calls.values()) {
    for (const p of c.pairs()) {
      for (const leg of [p.rtp, p.rtcp]) {
        live.packets += leg.rtp.packets + leg.rtcp.packets;
        live.bytes += leg.rtp.bytes + leg.rtcp.bytes;
        live.errors += leg.rtp.errors + leg.rtcp.errors;
      }
    }
  }
  const r = s.relayed;
  const packets = r.rtpPackets + r.rtcpPackets + live.packets;
  const bytes = r.rtpBytes + r.rtcpBytes + live.bytes;
  const avg = s.closedCalls ? s.totalDurationMs / s.closedCalls / 1000 : 0;
  const totalCount: BDict = {};
  for (const [k, v] of Object.entries(control)) totalCount[`total${k}count`] = v;
  return {
    currentstatistics: {
      sessionsown: engine.calls.size,
      sessionsforeign: 0,
      sessionstotal: engine.calls.size,
      transcodedmedia: engine.transcodedMedia(),
      media_userspace: engine.calls.size,
      media_kernel: 0,
    },
    totalstatistics: {
      uptime: String(sec(Date.now() - s.started)),
      managedsessions: s.managed,
      rejectedsessions: s.rejected,
      timeoutsessions: s.closedBy.timeout,
      silenttimeoutsessions: s.closedBy['silent timeout'],
      finaltimeoutsessions: s.closedBy['final timeout'],
      offertimeoutsessions: s.closedBy['offer timeout'],
      regularterminatedsessions: s.closedBy.regular,
      forcedterminatedsessions: s.closedBy.forced,
      relayedpackets_user: packets,
      relayedbytes_user: bytes,
      relayedpacketerrors_user: r.errors + live.errors,
      relayedpackets: packets,
      relayedbytes: bytes,
      relayedpacketerrors: r.errors + live.errors,
      avgcallduration: avg.toFixed(6),
    },
    controlstatistics: totalCount,
  };
}

/**
 * Adds the media state to a `query` reply: a call-level `recording` section (status, directory, files,
 * packets, dropped, error) and, per tag, the active `playback` and which blocks apply to its media.
 */
export function formatMediaState(reply: BDict, snap: ReturnType<MediaService['snapshot']>): void {
  const rec = snap.recording;
  if (rec) {
    const r: BDict = {
      status: rec.status,
      directory: rec.dir,
      files: rec.files(),
      packets: rec.packets,
      dropped: rec.dropped,
    };
    if (rec.error !== undefined) r.error = rec.error;
    reply.recording = r;
  }
  const blocks = [...snap.callBlocks];
  if (blocks.length) reply['media control'] = blocks;
  const tags = reply.tags as BDict | undefined;
  if (!tags) return;
  for (const d of snap.streams) {
    const t = tags[d.party.tag] as BDict | undefined;
    if (!t) continue;
    const flags: string[] = [];
    if (d.blockDtmf) flags.push('DTMF blocked');
    if (d.blockMedia) flags.push('media blocked');
    if (d.silence) flags.push('silenced');
    if (flags.length) t['media control'] = flags;
    const p = d.insertion;
    if (p instanceof Playback)
      t.playback = {
        source: p.options.source,
        'media index': d.side.index,
        'position ms': p.lastFramePos,
        packets: p.packetsSent,
        started: sec(p.startedAt),
      };
  }
}
