/**
 * rms_bridge: a B2BUA second leg. The caller's call gets an outgoing INVITE (our own SDP on a second RTP
 * endpoint) towards a target; when the callee answers, RTP is relayed between the two endpoints with the
 * payload types mapped (and transcoded between PCMU, PCMA and G.722 when the legs chose different codecs), and a
 * hang-up on either side hangs up the other.
 */
import { randomInt } from 'node:crypto';
import type { RtpEndpoint } from '../../dataplane/rtp-endpoint.js';
import {
  type NarrowbandCodec,
  type PayloadConverter,
  payloadConverter,
} from '../../media/narrowband-convert.js';
import type { Dialog } from '../../sip/dialog.js';
import type { ServerTransaction } from '../../sip/transaction-server.js';
import { nameAddrHeader } from '../../wire/sip/headers.js';
import type { SipRequest } from '../../wire/sip/message.js';
import { serializeNameAddr } from '../../wire/sip/name-addr.js';
import { isRtp, readPayloadType, rtpPayloadEnd, rtpPayloadOffset, writePayloadType } from '../../wire/rtp.js';
import type { CallHost, MediaCall } from './call.js';
import { buildOffer, type NegotiatedAudio, parseSdpBody, readAnswer } from './sdp-negotiation.js';

export interface BridgeOptions {
  /** From of the second leg as a name-addr (default: the caller's From without its tag). */
  from?: string;
  /** Extra headers of the outgoing INVITE. */
  headers?: Record<string, string>;
  /** CANCEL the second leg when it has not answered in this time (default 60 s). */
  timeoutMs?: number;
}

/** Packets relayed by a bridge (live counters). */
export interface BridgeStats {
  toCallee: number;
  toCaller: number;
  /** Packets with a payload type neither leg negotiated. */
  dropped: number;
}

export interface BridgeResult {
  /** Final status of the second leg (200 when bridged; 487 when the caller left first). */
  status: number;
  reason: string;
  stats: BridgeStats;
}

const DEFAULT_TIMEOUT_MS = 60_000;

/** The second leg's offer: the caller's codec first, then the others we take. */
function secondLegCodecs(first: NarrowbandCodec, policy: readonly NarrowbandCodec[]): NarrowbandCodec[] {
  const rest = (['PCMU', 'PCMA', 'G722'] as const).filter(
    (c) => c !== first && (policy.includes(c) || c !== 'G722'),
  );
  return [first, ...rest];
}

/**
 * Rewrites a packet of leg `from` for leg `to` in place (`convert`: this direction's payload converter when
 * the legs' codecs differ); false to drop it.
 */
function translate(
  pkt: Buffer,
  from: NegotiatedAudio,
  to: NegotiatedAudio,
  convert: PayloadConverter | undefined,
): boolean {
  const pt = readPayloadType(pkt);
  if (pt === from.payloadType) {
    if (convert) {
      const off = rtpPayloadOffset(pkt);
      const end = off < 0 ? -1 : rtpPayloadEnd(pkt, off);
      if (end < 0) return false;
      convert.convert(pkt.subarray(off, end));
    }
    writePayloadType(pkt, to.payloadType);
    return true;
  }
  if (pt === from.telephoneEvent && to.telephoneEvent !== undefined) {
    writePayloadType(pkt, to.telephoneEvent);
    return true;
  }
  return false;
}

export async function startBridge(
  call: MediaCall,
  host: CallHost,
  targetUri: string,
  options: BridgeOptions,
): Promise<BridgeResult> {
  const stats: BridgeStats = { toCallee: 0, toCaller: 0, dropped: 0 };
  const result = (status: number, reason: string): BridgeResult => ({ status, reason, stats });
  // call.state changes across the awaits below; read it through a function so it is not narrowed.
  const gone = (): boolean => call.state === 'ended';
  if (gone()) return result(487, 'call ended');
  if (call.bridgeTeardown) throw new Error('call is already bridged');
  call.stopPlayback();
  const first = call.audio?.codec ?? host.policy.codecs[0] ?? 'PCMU';
  const codecs = secondLegCodecs(first, host.policy.codecs);
  const ptime = call.audio?.ptime ?? host.policy.ptime;

  let ep: RtpEndpoint;
  try {
    ep = await host.openEndpoint();
  } catch (e) {
    return result(503, e instanceof Error ? e.message : String(e));
  }
  if (gone()) {
    ep.close();
    return result(487, 'call ended');
  }

  let dialog: Dialog | undefined;
  let timer: NodeJS.Timeout | undefined;
  const clearTimer = (): void => {
    if (timer === undefined) return;
    clearTimeout(timer);
    timer = undefined;
    call.timers--;
  };
  const from = options.from ?? callerFrom(call.request);
  const out = host.stack.request({
    method: 'INVITE',
    uri: targetUri,
    body: buildOffer(
      { address: ep.localAddress, port: ep.localPort },
      { sessionId: String(randomInt(1, 2 ** 31)), version: 1 },
      codecs,
      ptime,
    ),
    ...(from ? { from } : {}),
    ...(options.headers ? { headers: options.headers } : {}),
    onProvisional: (res) => {
      if (res.status === 180 || res.status === 183) call.ring(180);
    },
  });
  // The caller leaving tears the second leg down, whatever state it is in.
  call.bridgeTeardown = () => {
    clearTimer();
    ep.close();
    out.cancel();
    if (dialog && dialog.state !== 'terminated') dialog.bye().catch(() => undefined);
  };
  call.timers++;
  timer = setTimeout(() => {
    timer = undefined;
    call.timers--;
    out.cancel();
  }, options.timeoutMs ?? DEFAULT_TIMEOUT_MS);

  const { response, dialog: d } = await out.result;
  clearTimer();
  dialog = d;
  if (gone()) {
    if (dialog && dialog.state !== 'terminated') dialog.bye().catch(() => undefined);
    return result(487, 'call ended');
  }
  const fail = (status: number, reason: string): BridgeResult => {
    call.bridgeTeardown = undefined;
    ep.close();
    if (dialog && dialog.state !== 'terminated') dialog.bye().catch(() => undefined);
    return result(status, reason);
  };
  if (response.status >= 300 || !dialog) return fail(response.status, response.reason);
  let callee: NegotiatedAudio;
  try {
    callee = readAnswer(parseSdpBody(response.body), codecs, ptime);
  } catch (e) {
    return fail(488, e instanceof Error ? e.message : String(e));
  }
  ep.remote = callee.remote;
  const calleeDialog = dialog;
  calleeDialog.on('request', (req, tx) => onCalleeRequest(call, req, tx));
  calleeDialog.on('terminated', (reason) => {
    if (reason !== 'bye' && reason !== 'closed') void call.hangup('bridge-peer-hangup');
  });

  if (call.state === 'offered' && !(await call.answer())) return result(487, 'call ended');
  const caller = call.audio;
  if (call.state !== 'answered' || !caller) return result(487, 'call ended');

  // One converter per direction (G.722 keeps state per stream); none when both legs use one codec.
  const toCallee = payloadConverter(caller.codec, callee.codec);
  const toCaller = payloadConverter(callee.codec, caller.codec);
  call.relay = (pkt) => {
    if (translate(pkt, caller, callee, toCallee) && ep.send(pkt)) stats.toCallee++;
    else stats.dropped++;
  };
  ep.onPacket = (pkt) => {
    if (call.state !== 'answered' || !isRtp(pkt)) return;
    if (translate(pkt, callee, caller, toCaller) && call.endpoint.send(pkt)) stats.toCaller++;
    else stats.dropped++;
  };
  return result(response.status, response.reason);
}

function callerFrom(req: SipRequest): string | undefined {
  try {
    const na = nameAddrHeader(req, 'From');
    delete na.params.tag;
    return serializeNameAddr(na);
  } catch {
    return undefined;
  }
}

function onCalleeRequest(call: MediaCall, req: SipRequest, tx: ServerTransaction): void {
  if (req.method === 'BYE') {
    tx.respond(200);
    void call.hangup('bridge-peer-hangup');
    return;
  }
  tx.respond(req.method === 'INFO' || req.method === 'OPTIONS' ? 200 : 488);
}
