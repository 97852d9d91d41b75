/**
 * One inbound call of the media server (rtp_media_server's session): the UAS side of the INVITE, one RTP
 * endpoint, prompt playback and DTMF detection. Methods never reject because the caller went away: a
 * call that ended makes `answer()` resolve false, `play()` resolve `stopped` and `hangup()` a no-op, so an
 * rms-style script (`answer; play; hangup`) needs no error handling for ordinary hang-ups.
 */
import { randomInt } from 'node:crypto';
import type { RtpEndpoint } from '../../dataplane/rtp-endpoint.js';
import { type DetectedDigit, DtmfDetector } from '../../media/dtmf.js';
import { RtpSenderState } from '../../media/rtp-sender-state.js';
import type { Dialog } from '../../sip/dialog.js';
import { TypedEmitter } from '../../sip/emitter.js';
import type { SipStack } from '../../sip/stack.js';
import type { ServerTransaction } from '../../sip/transaction-server.js';
import type { SipRequest } from '../../wire/sip/message.js';
import { getHeader } from '../../wire/sip/headers.js';
import {
  isRtp,
  readPayloadType,
  readSsrc,
  readTimestamp,
  rtpPayloadEnd,
  rtpPayloadOffset,
} from '../../wire/rtp.js';
import { type BridgeOptions, type BridgeResult, startBridge } from './bridge.js';
import type { MediaClock } from './media-clock.js';
import { Playback, type PlaybackEnd } from './playback.js';
import {
  answerOffer,
  buildAnswer,
  buildOffer,
  type NegotiatedAudio,
  NegotiationError,
  type NegotiationPolicy,
  type OfferAnswer,
  parseSdpBody,
  readAnswer,
  type SdpOriginState,
} from './sdp-negotiation.js';

export type CallState = 'offered' | 'answered' | 'ended';

/** Why a call ended. */
export type CallEndReason =
  | 'caller-hangup'
  | 'cancel'
  | 'hangup'
  | 'rejected'
  | 'ack-timeout'
  | 'answer-timeout'
  | 'bridge-peer-hangup'
  | 'media-error'
  | 'shutdown';

export interface PlaybackResult {
  reason: PlaybackEnd;
  /** Audio sent, in ms. */
  playedMs: number;
}

export type MediaCallEvents = {
  /** The caller hung up: BYE after the answer, CANCEL before it. */
  hangup: [how: 'bye' | 'cancel'];
  /** An RFC 4733 digit from the caller. */
  dtmf: [digit: DetectedDigit];
  /** A `play()` ended (finished or stopped). */
  playbackFinished: [result: PlaybackResult & { source: string }];
  /** The call is over and its media freed, whoever ended it. */
  ended: [reason: CallEndReason];
};

/** A prompt: a file name (relative to the media directory) or 8 kHz mono samples. */
export type PromptSource = string | { samples: Int16Array; name?: string };

/** What a call needs from its server. */
export interface CallHost {
  stack: SipStack;
  clock: MediaClock;
  policy: NegotiationPolicy;
  openEndpoint(): Promise<RtpEndpoint>;
  loadPrompt(name: string): Promise<Int16Array>;
  ended(call: MediaCall): void;
}

export class MediaCall extends TypedEmitter<MediaCallEvents> {
  state: CallState = 'offered';
  endReason: CallEndReason | undefined;
  readonly callId: string;
  dialog: Dialog | undefined;
  /** Negotiated audio (set from the offer at once, or from the ACK for a delayed offer). */
  audio: NegotiatedAudio | undefined;
  /** Live per-call timers (answer timeout); for leak checks. */
  timers = 0;
  /** Media objects of a bridge, torn down with the call. */
  bridgeTeardown: (() => void) | undefined;
  /** Packets from the caller go here instead of the DTMF/echo path while bridged. */
  relay: ((packet: Buffer) => void) | undefined;

  private readonly origin: SdpOriginState = { sessionId: String(randomInt(1, 2 ** 31)), version: 1 };
  private readonly sender = new RtpSenderState({
    clockRate: 8000,
    initialSsrc: randomInt(1, 2 ** 32 - 1),
    initialSeq: randomInt(0, 0x10000),
    initialTimestamp: randomInt(0, 2 ** 32 - 1),
  });
  private readonly detector = new DtmfDetector();
  private playback: { p: Playback; resolve: (r: PlaybackResult) => void; source: string } | undefined;
  private answerTimer: NodeJS.Timeout | undefined;
  private acked: Promise<boolean> | undefined;
  private echo = false;

  /** @internal Made by the server once the INVITE is accepted and the RTP endpoint is bound. */
  constructor(
    readonly request: SipRequest,
    readonly transaction: ServerTransaction,
    readonly endpoint: RtpEndpoint,
    private readonly host: CallHost,
    /** The caller's offer as we answer it (undefined for a delayed-offer INVITE). */
    readonly offer: OfferAnswer | undefined,
    answerTimeoutMs: number,
  ) {
    super();
    this.callId = getHeader(request, 'Call-ID') ?? '';
    if (offer) this.audio = offer.audio;
    endpoint.remote = this.audio?.remote ?? null;
    endpoint.onPacket = (pkt) => this.onRtp(pkt);
    transaction.on('cancel', () => {
      this.emit('hangup', 'cancel');
      this.end('cancel');
    });
    if (answerTimeoutMs > 0) {
      this.timers++;
      this.answerTimer = setTimeout(() => {
        this.answerTimer = undefined;
        this.timers--;
        if (this.state === 'offered') this.reject(480, 'answer-timeout');
      }, answerTimeoutMs);
    }
  }

  /** Request-URI of the INVITE. */
  get uri(): string {
    return this.request.uri;
  }
  get from(): string {
    return getHeader(this.request, 'From') ?? '';
  }
  get to(): string {
    return getHeader(this.request, 'To') ?? '';
  }

  /** Sends a provisional response (180 Ringing, 183...). */
  ring(status = 180): void {
    if (this.state === 'offered' && status > 100 && status < 200) this.transaction.respond(status);
  }

  /**
   * Answers with 200 OK and our SDP (rms_answer). Resolves true when the ACK arrives, false when the call
   * ended first (CANCEL, no ACK).
   */
  answer(): Promise<boolean> {
    if (this.acked) return this.acked;
    if (this.state !== 'offered') return Promise.resolve(false);
    this.clearAnswerTimer();
    const local = { address: this.endpoint.localAddress, port: this.endpoint.localPort };
    const body = this.offer
      ? buildAnswer(this.offer, local, this.origin)
      : buildOffer(local, this.origin, this.host.policy.codecs, this.host.policy.ptime);
    this.transaction.respond(200, 'OK', { body });
    this.state = 'answered';
    const dialog = this.host.stack.dialogOf(this.transaction);
    this.dialog = dialog;
    if (!dialog) {
      this.end('media-error');
      return Promise.resolve(false);
    }
    dialog.on('request', (req, tx) => this.onInDialog(req, tx));
    this.acked = new Promise<boolean>((resolve) => {
      dialog.once('ack', (ack) => {
        if (!this.offer) this.takeAckAnswer(ack);
        resolve(this.state === 'answered');
      });
      dialog.on('terminated', (reason) => {
        resolve(false);
        if (reason === 'ack-timeout') this.end('ack-timeout');
        else if (reason === 'bye' && this.state !== 'ended') this.end('caller-hangup');
      });
    });
    return this.acked;
  }

  /** Refuses the call (before the answer) with a final response. */
  reject(status = 486, reason: CallEndReason = 'rejected'): void {
    if (this.state !== 'offered') return;
    this.transaction.respond(status >= 300 && status < 700 ? status : 486);
    this.end(reason);
  }

  /**
   * Plays a WAV/MP3 file (any rate, stereo folded to mono) or samples to the caller, replacing a prompt
   * already playing (rms_play). Resolves when it finished or was stopped (hang-up, another play, stop).
   */
  async play(source: PromptSource): Promise<PlaybackResult> {
    if (this.state === 'offered') throw new Error('play() before answer()');
    const name = typeof source === 'string' ? source : (source.name ?? 'samples');
    const samples = typeof source === 'string' ? await this.host.loadPrompt(source) : source.samples;
    if (this.state !== 'answered' || !this.audio || this.relay) return { reason: 'stopped', playedMs: 0 };
    this.stopPlayback();
    return new Promise<PlaybackResult>((resolve) => {
      const p = new Playback(
        samples,
        this.audio!,
        this.sender,
        (pkt) => {
          if (this.sends) this.endpoint.send(pkt);
        },
        this.host.clock,
        (reason, playedMs) => {
          if (this.playback?.p === p) this.playback = undefined;
          const r = { reason, playedMs };
          resolve(r);
          this.emit('playbackFinished', { ...r, source: name });
        },
      );
      this.playback = { p, resolve, source: name };
      p.start();
    });
  }

  /** Stops the prompt playing, if any. */
  stopPlayback(): void {
    this.playback?.p.stop();
  }

  /** Sends the caller's RTP back to it (an echo test) until the call ends or a prompt plays. */
  startEcho(): void {
    this.echo = true;
  }

  /** Ends the call: BYE after the answer (resolves on its final response), 480 before it (rms_hangup). */
  async hangup(reason: CallEndReason = 'hangup'): Promise<void> {
    if (this.state === 'offered') {
      this.reject(480, reason);
      return;
    }
    if (this.state === 'ended') return;
    const dialog = this.dialog;
    this.end(reason);
    if (dialog && dialog.state !== 'terminated') await dialog.bye().catch(() => undefined);
  }

  /**
   * Connects the caller to `targetUri` through a second call leg (rms_bridge): an INVITE with our own
   * SDP, then RTP relayed between the two legs. Answers the caller when the callee answers, if not yet done.
   */
  bridge(targetUri: string, options: BridgeOptions = {}): Promise<BridgeResult> {
    return startBridge(this, this.host, targetUri, options);
  }

  /** @internal True when our direction allows sending. */
  get sends(): boolean {
    const d = this.audio?.direction;
    return d === 'sendrecv' || d === 'sendonly';
  }

  /** @internal Frees media and timers; emits `ended` once. Idempotent. */
  end(reason: CallEndReason): void {
    if (this.state === 'ended') return;
    this.state = 'ended';
    this.endReason = reason;
    this.clearAnswerTimer();
    this.playback?.p.stop();
    this.relay = undefined;
    this.endpoint.close();
    const teardown = this.bridgeTeardown;
    this.bridgeTeardown = undefined;
    teardown?.();
    this.host.ended(this);
    this.emit('ended', reason);
  }

  private clearAnswerTimer(): void {
    if (this.answerTimer === undefined) return;
    clearTimeout(this.answerTimer);
    this.answerTimer = undefined;
    this.timers--;
  }

  private takeAckAnswer(ack: SipRequest): void {
    try {
      if (ack.body.length === 0) throw new NegotiationError('ACK without the SDP answer', 488);
      this.audio = readAnswer(parseSdpBody(ack.body), this.host.policy.codecs, this.host.policy.ptime);
      this.endpoint.remote = this.audio.remote;
    } catch {
      void this.hangup();
    }
  }

  private onInDialog(req: SipRequest, tx: ServerTransaction): void {
    switch (req.method) {
      case 'BYE':
        tx.respond(200);
        if (this.state === 'ended') return;
        // Media stops here, synchronously: no packet leaves after the 200 OK.
        this.emit('hangup', 'bye');
        this.end('caller-hangup');
        return;
      case 'INVITE':
        this.onReinvite(req, tx);
        return;
      case 'INFO':
      case 'OPTIONS':
      case 'UPDATE':
        tx.respond(200);
        return;
      default:
        tx.respond(405);
    }
  }

  /** A re-INVITE (hold, resume, new address): answer it on the same port and codec choice rules. */
  private onReinvite(req: SipRequest, tx: ServerTransaction): void {
    if (this.state !== 'answered' || req.body.length === 0) {
      tx.respond(this.state === 'answered' ? 488 : 481);
      return;
    }
    try {
      const oa = answerOffer(parseSdpBody(req.body), this.host.policy);
      this.audio = oa.audio;
      const before = this.endpoint.remote;
      const moved = oa.audio.remote?.address !== before?.address || oa.audio.remote?.port !== before?.port;
      if (moved) {
        this.endpoint.remote = oa.audio.remote;
        this.endpoint.latched = false;
      }
      this.origin.version++;
      const local = { address: this.endpoint.localAddress, port: this.endpoint.localPort };
      tx.respond(200, 'OK', { body: buildAnswer(oa, local, this.origin) });
    } catch (e) {
      tx.respond(e instanceof NegotiationError ? e.status : 500);
    }
  }

  private onRtp(pkt: Buffer): void {
    if (this.state === 'ended' || !isRtp(pkt)) return;
    if (this.relay) {
      this.detectDtmf(pkt);
      this.relay(pkt);
      return;
    }
    if (this.echo && !this.playback && this.sends) this.endpoint.send(pkt);
    this.detectDtmf(pkt);
  }

  private detectDtmf(pkt: Buffer): void {
    const te = this.audio?.telephoneEvent;
    if (te === undefined || readPayloadType(pkt) !== te) return;
    const off = rtpPayloadOffset(pkt);
    const end = off < 0 ? -1 : rtpPayloadEnd(pkt, off);
    if (end < 0) return;
    for (const d of this.detector.push(pkt.subarray(off, end), readTimestamp(pkt), readSsrc(pkt)))
      this.emit('dtmf', d);
  }
}
