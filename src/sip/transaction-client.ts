/**
 * Client transactions (RFC 3261 17.1): INVITE (timers A, B, D; ACK for non-2xx built here; RFC 6026
 * Accepted state with timer M so 2xx retransmissions still reach the UAC core) and non-INVITE (E, F, K).
 * Requests are retransmitted only over UDP. A transport failure or timeout ends with a local 503 / 408.
 */
import { addHeader, getHeader, getHeaders } from '../wire/sip/headers.js';
import { type SipRequest, type SipResponse, serializeMessage } from '../wire/sip/message.js';
import { buildResponse } from '../wire/sip/response.js';
import { TypedEmitter } from './emitter.js';
import type { SipTimerConfig, TimerHandle, TimerSet } from './timers.js';
import type { Endpoint } from './transport-routing.js';

export type ClientTransactionState =
  | 'calling'
  | 'trying'
  | 'proceeding'
  | 'completed'
  | 'accepted'
  | 'terminated';

export interface ClientTransactionHost {
  timers: TimerSet;
  config: SipTimerConfig;
  send(bytes: Buffer, dest: Endpoint): Promise<void>;
  terminated(tx: ClientTransaction): void;
}

export type ClientTransactionEvents = {
  /** Every response passed up: provisionals, the final, and (INVITE) retransmitted or forked 2xx. */
  response: [res: SipResponse];
  terminated: [];
};

export class ClientTransaction extends TypedEmitter<ClientTransactionEvents> {
  state: ClientTransactionState;
  /** Resolves with the first final response (a local 408 on timeout, 503 on transport error). */
  readonly final: Promise<SipResponse>;
  private resolveFinal!: (r: SipResponse) => void;
  private gotFinal = false;
  private readonly bytes: Buffer;
  private ackBytes?: Buffer;
  private retransmit?: TimerHandle;
  private timeout?: TimerHandle;
  private endTimer?: TimerHandle;
  private interval: number;

  constructor(
    readonly request: SipRequest,
    readonly dest: Endpoint,
    readonly key: string,
    private readonly host: ClientTransactionHost,
  ) {
    super();
    this.state = request.method === 'INVITE' ? 'calling' : 'trying';
    this.final = new Promise((r) => {
      this.resolveFinal = r;
    });
    this.bytes = serializeMessage(request);
    this.interval = host.config.t1;
  }

  get isInvite(): boolean {
    return this.request.method === 'INVITE';
  }

  get reliable(): boolean {
    return this.dest.transport !== 'udp';
  }

  /** Sends the request and arms the timers. */
  start(): void {
    const { t1, t2 } = this.host.config;
    this.transmit(this.bytes);
    if (!this.reliable) {
      const tick = (): void => {
        this.transmit(this.bytes);
        // INVITE (timer A) doubles without cap; non-INVITE (timer E) caps at T2, and stays at T2 once proceeding.
        this.interval = this.isInvite
          ? 2 * this.interval
          : this.state === 'proceeding'
            ? t2
            : Math.min(2 * this.interval, t2);
        this.retransmit = this.host.timers.set(tick, this.interval);
      };
      this.retransmit = this.host.timers.set(tick, this.interval);
    }
    this.timeout = this.host.timers.set(() => this.fail(408, 'Request Timeout'), 64 * t1);
  }

  private transmit(bytes: Buffer): void {
    this.host.send(bytes, this.dest).catch(() => {
      if (this.state === 'calling' || this.state === 'trying' || this.state === 'proceeding')
        this.fail(503, 'Service Unavailable');
    });
  }

  /** A local final response (timeout, transport error), as RFC 3261 8.1.3.1 asks. */
  private fail(status: number, reason: string): void {
    if (this.state === 'terminated' || this.gotFinal) return;
    const res = buildResponse(this.request, status, reason);
    this.deliverFinal(res);
    this.terminate();
  }

  private deliverFinal(res: SipResponse): void {
    this.gotFinal = true;
    this.emit('response', res);
    this.resolveFinal(res);
  }

  /** A response matched to this transaction. */
  receive(res: SipResponse): void {
    const { t1, t2, t4 } = this.host.config;
    const timers = this.host.timers;
    switch (this.state) {
      case 'calling':
      case 'trying':
      case 'proceeding':
        if (res.status < 200) {
          if (this.isInvite) {
            // Timer B only guards the calling state; a ringing INVITE waits for the TU (CANCEL, Expires).
            timers.clear(this.retransmit);
            timers.clear(this.timeout);
          } else if (this.state === 'trying' && !this.reliable) {
            // Timer E continues at T2 while proceeding.
            this.interval = t2;
          }
          this.state = 'proceeding';
          this.emit('response', res);
          return;
        }
        timers.clear(this.retransmit);
        timers.clear(this.timeout);
        if (this.isInvite && res.status < 300) {
          this.state = 'accepted';
          this.endTimer = timers.set(() => this.terminate(), 64 * t1);
          this.deliverFinal(res);
          return;
        }
        this.state = 'completed';
        if (this.isInvite) {
          this.ackBytes = serializeMessage(this.buildAck(res));
          this.transmit(this.ackBytes);
          this.endTimer = timers.set(() => this.terminate(), this.reliable ? 0 : 64 * t1);
        } else {
          this.endTimer = timers.set(() => this.terminate(), this.reliable ? 0 : t4);
        }
        this.deliverFinal(res);
        return;
      case 'accepted':
        if (res.status >= 200 && res.status < 300) this.emit('response', res);
        return;
      case 'completed':
        if (this.ackBytes && res.status >= 300) this.transmit(this.ackBytes);
        return;
      default:
        return;
    }
  }

  /** ACK for a non-2xx final response (17.1.1.3): same branch, Request-URI, Call-ID, From, Route; To from the response. */
  private buildAck(res: SipResponse): SipRequest {
    const req = this.request;
    const ack: SipRequest = {
      kind: 'request',
      method: 'ACK',
      uri: req.uri,
      headers: [],
      body: Buffer.alloc(0),
    };
    const via = getHeader(req, 'Via');
    if (via !== undefined) addHeader(ack, 'Via', via);
    for (const r of getHeaders(req, 'Route')) addHeader(ack, 'Route', r);
    addHeader(ack, 'Max-Forwards', '70');
    addHeader(ack, 'From', getHeader(req, 'From') ?? '');
    addHeader(ack, 'To', getHeader(res, 'To') ?? getHeader(req, 'To') ?? '');
    addHeader(ack, 'Call-ID', getHeader(req, 'Call-ID') ?? '');
    const seq = (getHeader(req, 'CSeq') ?? '1').trim().split(/\s+/)[0];
    addHeader(ack, 'CSeq', `${seq} ACK`);
    return ack;
  }

  /** Ends the transaction, releasing timers. */
  terminate(): void {
    if (this.state === 'terminated') return;
    this.state = 'terminated';
    const timers = this.host.timers;
    timers.clear(this.retransmit);
    timers.clear(this.timeout);
    timers.clear(this.endTimer);
    if (!this.gotFinal) {
      this.gotFinal = true;
      this.resolveFinal(buildResponse(this.request, 503, 'Service Unavailable'));
    }
    this.host.terminated(this);
    this.emit('terminated');
    this.removeAllListeners();
  }
}
