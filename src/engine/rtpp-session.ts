/**
 * Stream-at-a-time signalling for front ends without SDP (the RTPproxy protocol): "party X of call C now
 * receives media section N at this address; which local port must the other party send to?". Built on the
 * engine's offer/answer, so calls created here are the same calls every other front end sees. The engine
 * takes SDP, so a minimal SDP carries the address; the port comes back from the call model, not from text.
 */
import type { Call, MediaSide } from './call.js';
import type { Engine } from './engine.js';
import { EngineError, type SignalOptions } from './options.js';

export interface StreamUpdate {
  callId: string;
  /** The party whose media address this is (the sender of the SDP the address came from). */
  fromTag: string;
  toTag?: string;
  /** 1-based media section (m= line) number. */
  index: number;
  /** Where the party receives; null: unknown or on hold. */
  media: { address: string; port: number } | null;
  family: 4 | 6;
  payloadTypes?: number[];
  /** Don't learn the party's address from its packets (asymmetric). */
  asymmetric?: boolean;
  /** Interface names: [towards this party, towards the other party]. */
  direction?: [string, string];
  /** Fresh local ports for the stream the reply names. */
  newPort?: boolean;
}

export interface StreamPort {
  port: number;
  /** The address the other party must send to (the interface's advertised address). */
  address: string;
  family: 4 | 6;
}

function section(m: { address: string; port: number } | null, family: 4 | 6, pts: number[]): string {
  const ip = family === 6 ? 'IP6' : 'IP4';
  const address = m?.address ?? (family === 6 ? '::' : '0.0.0.0');
  // A hold section still needs a non-zero port, or the engine would take it as rejected.
  return `m=audio ${m?.port || 9} RTP/AVP ${pts.join(' ')}\r\nc=IN ${ip} ${address}\r\n`;
}

/** An SDP with `u.index` sections: earlier ones repeat what the party last said, so they stay as they are. */
function minimalSdp(u: StreamUpdate, party: { media: MediaSide[] } | undefined): string {
  const pts = u.payloadTypes?.length ? u.payloadTypes : [0];
  const ip = u.family === 6 ? 'IP6' : 'IP4';
  const origin = u.media?.address ?? (u.family === 6 ? '::1' : '127.0.0.1');
  let sdp = `v=0\r\no=- 1 1 IN ${ip} ${origin}\r\ns=-\r\nt=0 0\r\n`;
  for (let i = 1; i < u.index; i++) {
    const prev = party?.media[i - 1]?.rtpAdvertised ?? null;
    const fam = prev?.address.includes(':') ? 6 : prev ? 4 : u.family;
    sdp += section(prev, fam, pts);
  }
  return sdp + section(u.media, u.family, pts);
}

function options(u: StreamUpdate, party: { media: MediaSide[] } | undefined): SignalOptions {
  const o: SignalOptions = {
    callId: u.callId,
    fromTag: u.fromTag,
    sdp: minimalSdp(u, party),
    learning: u.asymmetric ? 'off' : 'latch',
  };
  if (u.toTag) o.toTag = u.toTag;
  if (u.direction) o.direction = u.direction;
  return o;
}

function portOf(side: MediaSide | undefined): StreamPort {
  const pair = side?.pair;
  if (!side || !pair) throw new EngineError('Media section was rejected');
  return { port: pair.rtp.localPort, address: side.iface.advertised, family: side.iface.family };
}

/** Relocates a stream to fresh local ports (RTPproxy's `n` modifier). */
async function renew(engine: Engine, side: MediaSide | undefined): Promise<void> {
  if (!side?.pair) return;
  await engine.relocate(side);
}

/**
 * The sender of an offer updates its address (RTPproxy `U`): creates the call if needed. Returns the local
 * port facing the other party, i.e. the one to put into the SDP that goes on to that party.
 */
export async function updateStream(engine: Engine, u: StreamUpdate): Promise<StreamPort> {
  const existing = engine.calls.get(u.callId);
  const fromTag = pickTag(existing, u);
  const req = { ...u, ...fromTag };
  if (u.newPort && existing) await renew(engine, existing.byTag(req.fromTag)?.peer?.media[u.index - 1]);
  await engine.offer(options(req, existing?.byTag(req.fromTag)));
  const call = engine.calls.get(u.callId);
  const peer = call?.byTag(req.fromTag)?.peer ?? undefined;
  return portOf(peer?.media[u.index - 1]);
}

/**
 * The answerer's address arrives (RTPproxy `L`). Returns the local port facing the offerer, or undefined
 * when the call or its tags are unknown.
 */
export async function lookupStream(engine: Engine, u: StreamUpdate): Promise<StreamPort | undefined> {
  const call = engine.calls.get(u.callId);
  if (!call) return undefined;
  const req = { ...u, ...pickTag(call, u) };
  const offerer = call.byTag(req.fromTag);
  if (!offerer) return undefined;
  if (u.newPort) await renew(engine, offerer.media[u.index - 1]);
  const answerer = (req.toTag ? call.byTag(req.toTag) : undefined) ?? offerer.peer ?? undefined;
  const { direction: _, ...plain } = req;
  await engine.answer(options(plain, answerer));
  return portOf(offerer.media[u.index - 1]);
}

/** RTPproxy matches tags either way round: when only the to-tag is known, the roles are swapped. */
function pickTag(call: Call | undefined, u: StreamUpdate): { fromTag: string; toTag?: string } {
  if (!call || call.byTag(u.fromTag) || !u.toTag || !call.byTag(u.toTag)) {
    return u.toTag ? { fromTag: u.fromTag, toTag: u.toTag } : { fromTag: u.fromTag };
  }
  return { fromTag: u.toTag, toTag: u.fromTag };
}

/** Seconds until the call would time out (or be purged, once deleted), by the engine's own rules. */
export function callTtl(engine: Engine, call: Call, now = Date.now()): number {
  const cfg = engine.config;
  if (call.deleteAt) return Math.max(0, Math.ceil((call.deleteAt - now) / 1000));
  if (!call.answered)
    return cfg.offerTimeout > 0
      ? Math.max(0, Math.ceil(cfg.offerTimeout - (now - call.lastSignal) / 1000))
      : -1;
  const last = Math.max(call.lastPacket(), call.answeredAt, call.lastSignal);
  return cfg.timeout > 0 ? Math.max(0, Math.ceil(cfg.timeout - (now - last) / 1000)) : -1;
}
