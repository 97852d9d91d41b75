/**
 * The media server: a SIP endpoint (our own stack) that turns each INVITE into a {@link MediaCall} with its
 * RTP endpoint, hands it to the application's `call` listener and keeps every resource bounded: a
 * concurrent-call limit (503 beyond it), an answer timeout, one shared media clock, and counts of open
 * sockets and timers for leak checks.
 */
import { isIP } from 'node:net';
import { isAbsolute, resolve } from 'node:path';
import { PortPool } from '../../dataplane/port-pool.js';
import { RtpEndpoint } from '../../dataplane/rtp-endpoint.js';
import type { NarrowbandCodec } from '../../media/narrowband-convert.js';
import type { PromptCacheStats } from '../../media/prompt-cache.js';
import { createFilePromptCache, resolveInMediaRoot } from '../../media/prompt-file.js';
import { TypedEmitter } from '../../sip/emitter.js';
import { createSipStack, type SipStack } from '../../sip/stack.js';
import type { SipStackStats } from '../../sip/stack-types.js';
import type { ServerTransaction } from '../../sip/transaction-server.js';
import type { SipRequest } from '../../wire/sip/message.js';
import { type Logger, silentLogger } from '../../util/log.js';
import { type CallHost, MediaCall } from './call.js';
import { MediaClock } from './media-clock.js';
import {
  answerOffer,
  NegotiationError,
  type NegotiationPolicy,
  type OfferAnswer,
  parseSdpBody,
} from './sdp-negotiation.js';

export interface MediaServerOptions {
  /** SIP listen address: `IP:PORT` (`[v6]:PORT`) or an object. */
  listen: string | { host: string; port: number };
  /** Also listen on TCP at the same address (default false). */
  tcp?: boolean;
  /** Local address of the RTP sockets (an IP literal). */
  rtpIp: string;
  rtpPortMin?: number;
  rtpPortMax?: number;
  /** Directory that relative prompt names resolve in; when set, prompts outside it are refused. */
  mediaDir?: string;
  /** Calls beyond this many get 503 (default 1000). */
  maxCalls?: number;
  /** Accepted codecs in preference order (default PCMU, PCMA, G722). */
  codecs?: NarrowbandCodec[];
  /** Packet interval when the offer does not say (default 20 ms). */
  ptime?: number;
  /** Calls the application has not answered in this time get 480 (default 60 s; 0 disables). */
  answerTimeoutMs?: number;
  /** Play this file on every call and hang up, when no `call` listener is registered (rms example). */
  play?: string;
  /** SIP timers (tests shrink T1). */
  t1?: number;
  t2?: number;
  t4?: number;
  /** Host written in Via/Contact (default: the listen address). */
  publicHost?: string;
  /** User part of our Contact (default 'media'). */
  user?: string;
  /** Bytes of decoded prompts kept in memory (default 64 MiB). */
  promptCacheBytes?: number;
  logger?: Logger;
}

export interface MediaServerStats {
  /** Calls in progress (offered or answered). */
  calls: number;
  /** RTP sockets open (one per call, two when bridged). */
  sockets: number;
  /** Live timers of the media server: the media clock and per-call timers (the SIP layer's are in `sip`). */
  timers: number;
  /** Playbacks running. */
  playbacks: number;
  /** INVITEs refused with 503 at the call limit. */
  rejectedAtLimit: number;
  totalCalls: number;
  sip: SipStackStats;
  prompts: PromptCacheStats;
}

export type MediaServerEvents = {
  /** A new call, not answered yet: call `answer()` (or `reject()`, `bridge()`). */
  call: [call: MediaCall];
  /** An app handler threw or rejected; the call was hung up. */
  callError: [call: MediaCall, error: unknown];
};

/** Parses `IP:PORT` / `[IPv6]:PORT`; undefined when malformed. */
export function parseHostPort(s: string): { host: string; port: number } | undefined {
  const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(s) ?? /^([^:]+):(\d{1,5})$/.exec(s);
  if (!m) return undefined;
  const port = Number(m[2]);
  if (isIP(m[1]!) === 0 || port < 1 || port > 65535) return undefined;
  return { host: m[1]!, port };
}

export class MediaServer extends TypedEmitter<MediaServerEvents> {
  /** Resolves once the SIP sockets are bound (rejects when they cannot be). */
  readonly ready: Promise<void>;
  private stack: SipStack | undefined;
  private readonly calls = new Map<string, MediaCall>();
  private readonly endpoints = new Set<RtpEndpoint>();
  private readonly pool: PortPool;
  private readonly clock = new MediaClock();
  private readonly prompts;
  private readonly policy: NegotiationPolicy;
  private readonly log: Logger;
  private readonly host: CallHost;
  private pendingInvites = 0;
  private rejectedAtLimit = 0;
  private totalCalls = 0;
  private closed = false;

  constructor(readonly options: MediaServerOptions) {
    super();
    if (isIP(options.rtpIp) === 0) throw new Error(`rtpIp ${options.rtpIp} is not an IP address`);
    const listen = typeof options.listen === 'string' ? parseHostPort(options.listen) : options.listen;
    if (!listen) throw new Error(`bad listen address ${String(options.listen)} (expected IP:PORT)`);
    this.pool = new PortPool(options.rtpPortMin ?? 30000, options.rtpPortMax ?? 40000);
    this.prompts = createFilePromptCache(options.promptCacheBytes);
    this.policy = { codecs: options.codecs ?? ['PCMU', 'PCMA', 'G722'], ptime: options.ptime ?? 20 };
    this.log = options.logger ?? silentLogger;
    const server = this;
    this.host = {
      get stack(): SipStack {
        if (!server.stack) throw new Error('media server not listening');
        return server.stack;
      },
      clock: this.clock,
      policy: this.policy,
      openEndpoint: () => this.openEndpoint(),
      loadPrompt: (name) => this.loadPrompt(name),
      ended: (call) => {
        this.calls.delete(call.callId + call.transaction.toTag);
      },
    };
    this.ready = this.start(listen);
    // Callers that never await `ready` must not get an unhandled rejection; those that do still see it.
    this.ready.catch(() => undefined);
  }

  private async start(listen: { host: string; port: number }): Promise<void> {
    const stack = await createSipStack({
      udp: listen,
      ...(this.options.tcp ? { tcp: listen } : {}),
      ...(this.options.t1 !== undefined ? { t1: this.options.t1 } : {}),
      ...(this.options.t2 !== undefined ? { t2: this.options.t2 } : {}),
      ...(this.options.t4 !== undefined ? { t4: this.options.t4 } : {}),
      ...(this.options.publicHost !== undefined ? { publicHost: this.options.publicHost } : {}),
      user: this.options.user ?? 'media',
    });
    if (this.closed) {
      stack.close();
      return;
    }
    this.stack = stack;
    stack.on('request', (req, tx) => this.onRequest(req, tx));
    stack.on('malformed', (reason, src) => this.log.debug(`malformed SIP from ${src.address}: ${reason}`));
  }

  /** The bound SIP UDP address (after `ready`). */
  get sipAddress(): { host: string; port: number } {
    const a = this.stack?.transport.udpAddress;
    if (!a) throw new Error('media server not listening');
    return { host: a.host, port: a.port };
  }

  override on<K extends keyof MediaServerEvents & string>(
    event: K,
    listener: (...args: MediaServerEvents[K]) => void | Promise<void>,
  ): this {
    if (event !== 'call') return super.on(event, listener);
    // An async handler's failure hangs up its call instead of becoming an unhandled rejection.
    return super.on('call', (call) => {
      try {
        const r = (listener as (c: MediaCall) => unknown)(call);
        if (r instanceof Promise) r.catch((e: unknown) => this.handlerFailed(call, e));
      } catch (e) {
        this.handlerFailed(call, e);
      }
    });
  }

  private handlerFailed(call: MediaCall, e: unknown): void {
    this.log.warn(`call ${call.callId}: handler failed: ${e instanceof Error ? e.message : String(e)}`);
    if (call.state === 'offered') call.reject(500);
    else void call.hangup();
    this.emit('callError', call, e);
  }

  private onRequest(req: SipRequest, tx: ServerTransaction): void {
    switch (req.method) {
      case 'INVITE':
        void this.onInvite(req, tx).catch((e: unknown) => {
          this.log.err(`INVITE failed: ${e instanceof Error ? e.message : String(e)}`);
          tx.respond(500);
        });
        return;
      case 'OPTIONS':
        tx.respond(200, 'OK', { headers: { Allow: 'INVITE, ACK, CANCEL, BYE, OPTIONS, INFO' } });
        return;
      default:
        tx.respond(405, 'Method Not Allowed', {
          headers: { Allow: 'INVITE, ACK, CANCEL, BYE, OPTIONS, INFO' },
        });
    }
  }

  private async onInvite(req: SipRequest, tx: ServerTransaction): Promise<void> {
    const max = this.options.maxCalls ?? 1000;
    if (this.closed || this.calls.size + this.pendingInvites >= max) {
      this.rejectedAtLimit++;
      tx.respond(503, 'Service Unavailable', { headers: { 'Retry-After': '5' } });
      return;
    }
    let offer: OfferAnswer | undefined;
    try {
      offer = req.body.length > 0 ? answerOffer(parseSdpBody(req.body), this.policy) : undefined;
    } catch (e) {
      if (!(e instanceof NegotiationError)) throw e;
      tx.respond(e.status, e.status === 488 ? 'Not Acceptable Here' : 'Bad Request', {
        headers: { Warning: `399 sipmedia "${e.message.replace(/["\\\r\n]/g, '')}"` },
      });
      return;
    }
    this.pendingInvites++;
    let endpoint: RtpEndpoint;
    try {
      endpoint = await this.openEndpoint();
    } catch (e) {
      this.log.warn(`no RTP port: ${e instanceof Error ? e.message : String(e)}`);
      tx.respond(503, 'Service Unavailable');
      return;
    } finally {
      this.pendingInvites--;
    }
    if (!tx.pending || this.closed) {
      // CANCELled (487 already sent) or shutting down while the port was being bound.
      endpoint.close();
      tx.respond(503);
      return;
    }
    const call = new MediaCall(req, tx, endpoint, this.host, offer, this.options.answerTimeoutMs ?? 60_000);
    this.calls.set(call.callId + tx.toTag, call);
    this.totalCalls++;
    if (this.listenerCount('call') > 0) this.emit('call', call);
    else if (this.options.play !== undefined) void this.playAndHangUp(call, this.options.play);
    else call.reject(480);
  }

  /** The rms example configuration: answer, play, hang up. */
  private async playAndHangUp(call: MediaCall, file: string): Promise<void> {
    try {
      if (!(await call.answer())) return;
      const r = await call.play(file);
      if (r.reason === 'finished') await call.hangup();
    } catch (e) {
      this.handlerFailed(call, e);
    }
  }

  private async openEndpoint(): Promise<RtpEndpoint> {
    const ep = await RtpEndpoint.open({ address: this.options.rtpIp, pool: this.pool });
    this.endpoints.add(ep);
    const close = ep.close.bind(ep);
    ep.close = () => {
      this.endpoints.delete(ep);
      close();
    };
    return ep;
  }

  private async loadPrompt(name: string): Promise<Int16Array> {
    const dir = this.options.mediaDir;
    const path =
      dir !== undefined ? await resolveInMediaRoot(dir, name) : isAbsolute(name) ? name : resolve(name);
    return this.prompts.get(path);
  }

  /** Live calls. */
  get activeCalls(): MediaCall[] {
    return [...this.calls.values()];
  }

  stats(): MediaServerStats {
    let callTimers = 0;
    let playbacks = 0;
    for (const c of this.calls.values()) callTimers += c.timers;
    playbacks = this.clock.size;
    const sip = this.stack?.stats() ?? {
      serverTransactions: 0,
      clientTransactions: 0,
      dialogs: 0,
      timers: 0,
      transport: { received: 0, sent: 0, dropped: 0, rejected: 0 },
    };
    return {
      calls: this.calls.size,
      sockets: this.endpoints.size,
      timers: this.clock.timers + callTimers,
      playbacks,
      rejectedAtLimit: this.rejectedAtLimit,
      totalCalls: this.totalCalls,
      sip,
      prompts: this.prompts.stats(),
    };
  }

  /**
   * Stops: answered calls get BYE (waiting at most `graceMs` for the answers), unanswered ones 503, then
   * the SIP sockets close.
   */
  async close(graceMs = 1000): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.ready.catch(() => undefined);
    const byes: Promise<void>[] = [];
    for (const call of [...this.calls.values()]) {
      if (call.state === 'offered') call.reject(503, 'shutdown');
      else byes.push(call.hangup('shutdown'));
    }
    if (byes.length > 0) {
      let t: NodeJS.Timeout | undefined;
      await Promise.race([Promise.all(byes), new Promise<void>((r) => (t = setTimeout(r, graceMs)))]);
      clearTimeout(t);
    }
    this.clock.stop();
    for (const ep of [...this.endpoints]) ep.close();
    this.stack?.close();
  }
}

/** Creates a media server; it starts listening at once (`await server.ready`). */
export function createMediaServer(options: MediaServerOptions): MediaServer {
  return new MediaServer(options);
}

/** Creates a media server and waits until it listens. */
export async function startMediaServer(options: MediaServerOptions): Promise<MediaServer> {
  const s = new MediaServer(options);
  await s.ready;
  return s;
}
