/**
 * Server transactions (RFC 3261 17.2): INVITE (with the RFC 6026 Accepted state, so retransmitted INVITEs
 * after a 2xx are absorbed) and non-INVITE. Retransmitted requests are answered with the last response;
 * over UDP non-2xx INVITE finals are retransmitted on timer G until ACK or timer H.
 */
import { randomBytes } from 'node:crypto';
import { setHeader } from '../wire/sip/headers.js';
import type { SipHeader, SipRequest, SipResponse } from '../wire/sip/message.js';
import { buildResponse, headerList, reasonPhrase } from '../wire/sip/response.js';
import { TypedEmitter } from './emitter.js';
import type { SipTimerConfig, TimerHandle, TimerSet } from './timers.js';
import type { Endpoint } from './transport-routing.js';

export type ServerTransactionState =
  | 'trying'
  | 'proceeding'
  | 'completed'
  | 'confirmed'
  | 'accepted'
  | 'terminated';

/** Extra content of a response. */
export interface ResponseOptions {
  headers?: Record<string, string | string[]> | SipHeader[];
  body?: Buffer | string;
  /** Content-Type for the body (default application/sdp when body is given and no Content-Type header). */
  contentType?: string;
}

/** What a server transaction needs from the stack. */
export interface ServerTransactionHost {
  timers: TimerSet;
  config: SipTimerConfig;
  /** Sends a response to where the request came from (RFC 18.2.2). */
  sendResponse(res: SipResponse, source: Endpoint): void;
  /** Last touches before a response goes out (Contact for dialog-creating responses...). */
  decorate(tx: ServerTransaction, res: SipResponse): void;
  /** A 2xx to INVITE was sent: the UAS core now retransmits it until ACK (13.3.1.4). */
  onInvite2xx(tx: ServerTransaction, res: SipResponse): void;
  terminated(tx: ServerTransaction): void;
}

export type ServerTransactionEvents = {
  /** A CANCEL matched this INVITE while it was pending; 487 was sent. */
  cancel: [cancel: SipRequest];
  /** The ACK to a non-2xx final response. */
  ack: [ack: SipRequest];
  terminated: [];
};

export function newTag(): string {
  return randomBytes(6).toString('hex');
}

export class ServerTransaction extends TypedEmitter<ServerTransactionEvents> {
  state: ServerTransactionState;
  lastResponse?: SipResponse;
  /** Tag put in the To of every response but 100 (also the local tag of a UAS dialog made from it). */
  toTag = newTag();
  private timerG?: TimerHandle;
  private timerH?: TimerHandle;
  private timerEnd?: TimerHandle;
  private gInterval: number;

  constructor(
    readonly request: SipRequest,
    readonly source: Endpoint,
    readonly key: string,
    private readonly host: ServerTransactionHost,
  ) {
    super();
    this.state = request.method === 'INVITE' ? 'proceeding' : 'trying';
    this.gInterval = host.config.t1;
  }

  get isInvite(): boolean {
    return this.request.method === 'INVITE';
  }

  get reliable(): boolean {
    return this.source.transport !== 'udp';
  }

  /** True until a final response has been sent. */
  get pending(): boolean {
    return this.state === 'trying' || this.state === 'proceeding';
  }

  /**
   * Sends a response. Ignored (returns undefined) once a final response was sent: a late answer after a
   * CANCEL is not an error for the application.
   */
  respond(status: number, reason?: string, opts: ResponseOptions = {}): SipResponse | undefined {
    if (!this.pending) return undefined;
    const res = buildResponse(this.request, status, reason ?? reasonPhrase(status), this.toTag);
    for (const h of headerList(opts.headers)) res.headers.push(h);
    if (opts.body !== undefined) {
      res.body = typeof opts.body === 'string' ? Buffer.from(opts.body, 'utf8') : opts.body;
      if (opts.contentType || !res.headers.some((h) => h.name === 'Content-Type'))
        setHeader(res, 'Content-Type', opts.contentType ?? 'application/sdp');
    }
    this.sendResponse(res);
    return res;
  }

  /** Sends an already built response through the transaction. */
  sendResponse(res: SipResponse): void {
    if (!this.pending) return;
    this.host.decorate(this, res);
    this.lastResponse = res;
    this.transmit(res);
    if (res.status < 200) {
      this.state = 'proceeding';
      return;
    }
    const { t1, t2 } = this.host.config;
    if (this.isInvite && res.status < 300) {
      // RFC 6026 Accepted: absorb INVITE retransmissions for timer L; the UAS core retransmits the 2xx.
      this.state = 'accepted';
      this.timerEnd = this.host.timers.set(() => this.terminate(), 64 * t1);
      this.host.onInvite2xx(this, res);
      return;
    }
    this.state = 'completed';
    if (this.isInvite) {
      if (!this.reliable) {
        const g = (): void => {
          this.transmit(res);
          this.gInterval = Math.min(2 * this.gInterval, t2);
          this.timerG = this.host.timers.set(g, this.gInterval);
        };
        this.timerG = this.host.timers.set(g, this.gInterval);
      }
      this.timerH = this.host.timers.set(() => this.terminate(), 64 * t1);
    } else {
      this.timerEnd = this.host.timers.set(() => this.terminate(), this.reliable ? 0 : 64 * t1);
    }
  }

  /** A retransmission of the request arrived: resend the last response (if any). */
  onRetransmission(): void {
    if (
      this.lastResponse &&
      (this.state === 'proceeding' || this.state === 'completed' || this.state === 'trying')
    )
      this.transmit(this.lastResponse);
  }

  /** ACK matching this INVITE transaction (non-2xx). */
  onAck(ack: SipRequest): void {
    if (this.state !== 'completed') return;
    this.state = 'confirmed';
    this.host.timers.clear(this.timerG);
    this.host.timers.clear(this.timerH);
    this.timerEnd = this.host.timers.set(() => this.terminate(), this.reliable ? 0 : this.host.config.t4);
    this.emit('ack', ack);
  }

  /** CANCEL for this INVITE: 487 when still pending (the CANCEL itself is answered by the stack). */
  onCancel(cancel: SipRequest): void {
    if (!this.isInvite || !this.pending) return;
    this.respond(487);
    this.emit('cancel', cancel);
  }

  private transmit(res: SipResponse): void {
    this.host.sendResponse(res, this.source);
  }

  /** Ends the transaction now, releasing its timers. */
  terminate(): void {
    if (this.state === 'terminated') return;
    this.state = 'terminated';
    this.host.timers.clear(this.timerG);
    this.host.timers.clear(this.timerH);
    this.host.timers.clear(this.timerEnd);
    this.host.terminated(this);
    this.emit('terminated');
    this.removeAllListeners();
  }
}
