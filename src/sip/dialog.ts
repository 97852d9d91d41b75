/**
 * Dialogs (RFC 3261 12-15): identity (Call-ID, local and remote tag), CSeq spaces, remote target and route
 * set; in-dialog requests built per 12.2.1.1; the UAS retransmits its 2xx to INVITE until the ACK
 * (13.3.1.4) and the UAC acknowledges every 2xx (13.2.2.4).
 */
import { addHeader, getHeader, getHeaders, nameAddrHeader } from '../wire/sip/headers.js';
import type { SipRequest, SipResponse } from '../wire/sip/message.js';
import { parseNameAddr, serializeNameAddr } from '../wire/sip/name-addr.js';
import { headerList } from '../wire/sip/response.js';
import { serializeUri } from '../wire/sip/uri.js';
import { TypedEmitter } from './emitter.js';
import type { ServerTransaction } from './transaction-server.js';
import type { SipTimerConfig, TimerHandle, TimerSet } from './timers.js';
import type { TransportName } from './transport-routing.js';

export type DialogState = 'early' | 'confirmed' | 'terminated';

export interface InDialogRequestOptions {
  headers?: Record<string, string | string[]>;
  body?: Buffer | string;
  contentType?: string;
  /** Called for provisional responses (re-INVITE). */
  onProvisional?: (res: SipResponse) => void;
}

/** What a dialog needs from the UA core. */
export interface DialogHost {
  timers: TimerSet;
  config: SipTimerConfig;
  /** Sends an in-dialog request through a new client transaction; resolves with the final response. */
  sendRequest(
    dialog: Dialog,
    req: SipRequest,
    onProvisional?: (res: SipResponse) => void,
  ): Promise<SipResponse>;
  /** Sends an ACK for a 2xx (no transaction) to the next hop of its Route/Request-URI. */
  sendAck(dialog: Dialog, ack: SipRequest): void;
  /** Sends (or resends) a 2xx response outside any transaction. */
  resend2xx(tx: ServerTransaction, res: SipResponse): void;
  /** Contact header value for target-refresh requests and responses. */
  contact(transport: TransportName): string;
  /** New Via header value for a request going out on `transport`. */
  newVia(transport: TransportName): string;
  terminated(dialog: Dialog): void;
}

export type DialogEvents = {
  /** An in-dialog request (BYE, INFO, re-INVITE, UPDATE...). Without a listener BYE gets 200, others 405. */
  request: [req: SipRequest, tx: ServerTransaction];
  /** The ACK for our 2xx (UAS) arrived. */
  ack: [ack: SipRequest];
  /** The dialog ended: 'bye' (either side), 'ack-timeout' (no ACK for our 2xx), 'cancel', 'closed'. */
  terminated: [reason: string];
};

export interface DialogInit {
  role: 'uas' | 'uac';
  callId: string;
  localTag: string;
  remoteTag: string;
  /** Local address-of-record as a name-addr without tag. */
  localUri: string;
  remoteUri: string;
  remoteTarget: string;
  routeSet: string[];
  localSeq: number;
  remoteSeq: number;
  transport: TransportName;
}

export class Dialog extends TypedEmitter<DialogEvents> {
  state: DialogState = 'early';
  readonly role: 'uas' | 'uac';
  readonly callId: string;
  readonly localTag: string;
  remoteTag: string;
  readonly localUri: string;
  readonly remoteUri: string;
  remoteTarget: string;
  routeSet: string[];
  localSeq: number;
  remoteSeq: number;
  readonly transport: TransportName;
  /** Pending 2xx retransmissions keyed by INVITE CSeq number. */
  private readonly pending2xx = new Map<number, { timer?: TimerHandle; resolve: () => void }>();
  /** Last ACK per INVITE CSeq, resent when a 2xx is retransmitted. */
  private readonly acks = new Map<number, SipRequest>();

  constructor(
    init: DialogInit,
    private readonly host: DialogHost,
  ) {
    super();
    this.role = init.role;
    this.callId = init.callId;
    this.localTag = init.localTag;
    this.remoteTag = init.remoteTag;
    this.localUri = init.localUri;
    this.remoteUri = init.remoteUri;
    this.remoteTarget = init.remoteTarget;
    this.routeSet = init.routeSet;
    this.localSeq = init.localSeq;
    this.remoteSeq = init.remoteSeq;
    this.transport = init.transport;
  }

  /** Key used to match requests: Call-ID, local tag, remote tag. */
  get id(): string {
    return dialogKey(this.callId, this.localTag, this.remoteTag);
  }

  /** Builds an in-dialog request (12.2.1.1) without sending it. ACK reuses the given INVITE CSeq. */
  buildRequest(method: string, opts: InDialogRequestOptions = {}, cseq?: number): SipRequest {
    let uri = this.remoteTarget;
    let routes = this.routeSet;
    const first = routes[0];
    if (first !== undefined && !('lr' in parseNameAddr(first).uri.params)) {
      // Strict router: it goes in the Request-URI and the remote target becomes the last Route.
      uri = first.replace(/^[^<]*<([^>]*)>.*$/, '$1');
      routes = [...routes.slice(1), `<${this.remoteTarget}>`];
    }
    const req: SipRequest = { kind: 'request', method, uri, headers: [], body: Buffer.alloc(0) };
    addHeader(req, 'Via', this.host.newVia(this.transport));
    for (const r of routes) addHeader(req, 'Route', r);
    addHeader(req, 'Max-Forwards', '70');
    addHeader(req, 'From', `${this.localUri};tag=${this.localTag}`);
    addHeader(req, 'To', `${this.remoteUri};tag=${this.remoteTag}`);
    addHeader(req, 'Call-ID', this.callId);
    const seq = cseq ?? (method === 'ACK' || method === 'CANCEL' ? this.localSeq : ++this.localSeq);
    addHeader(req, 'CSeq', `${seq} ${method}`);
    if (method === 'INVITE' || method === 'UPDATE')
      addHeader(req, 'Contact', this.host.contact(this.transport));
    for (const h of headerList(opts.headers)) req.headers.push(h);
    if (opts.body !== undefined) {
      req.body = typeof opts.body === 'string' ? Buffer.from(opts.body, 'utf8') : opts.body;
      if (!req.headers.some((h) => h.name === 'Content-Type'))
        addHeader(req, 'Content-Type', opts.contentType ?? 'application/sdp');
    }
    return req;
  }

  /**
   * Sends an in-dialog request and resolves with its final response. A 2xx to a re-INVITE is ACKed by the
   * UA core; BYE ends the dialog whatever the answer.
   */
  async request(method: string, opts: InDialogRequestOptions = {}): Promise<SipResponse> {
    if (this.state === 'terminated') throw new Error(`dialog terminated; cannot send ${method}`);
    const req = this.buildRequest(method, opts);
    if (method === 'BYE') this.end('bye');
    // A 2xx to a re-INVITE is acknowledged by the UA core as it arrives (retransmissions too).
    return this.host.sendRequest(this, req, opts.onProvisional);
  }

  /** Sends BYE (the dialog ends at once; the promise gives the answer). */
  bye(opts: InDialogRequestOptions = {}): Promise<SipResponse> {
    return this.request('BYE', opts);
  }

  /** UAC: sends (or resends) the ACK for a 2xx to INVITE. */
  acknowledge(res: SipResponse): void {
    const seq = Number((getHeader(res, 'CSeq') ?? '0').trim().split(/\s+/)[0]);
    let ack = this.acks.get(seq);
    if (!ack) {
      ack = this.buildRequest('ACK', {}, seq);
      this.acks.set(seq, ack);
      this.state = this.state === 'terminated' ? 'terminated' : 'confirmed';
    }
    this.host.sendAck(this, ack);
  }

  /** UAS: retransmits a 2xx to INVITE at T1, 2T1... (capped at T2) until ACK or 64*T1 (then BYE). */
  startRetransmit2xx(tx: ServerTransaction, res: SipResponse): Promise<void> {
    const seq = Number((getHeader(res, 'CSeq') ?? '0').trim().split(/\s+/)[0]);
    const { t1, t2 } = this.host.config;
    return new Promise((resolve) => {
      const entry: { timer?: TimerHandle; resolve: () => void } = { resolve };
      this.pending2xx.set(seq, entry);
      let interval = t1;
      let elapsed = 0;
      const tick = (): void => {
        elapsed += interval;
        if (elapsed >= 64 * t1) {
          this.pending2xx.delete(seq);
          resolve();
          if (this.state !== 'terminated') {
            // 13.3.1.4: no ACK means the session is dead; end it with a BYE.
            const bye = this.buildRequest('BYE');
            this.end('ack-timeout');
            this.host.sendRequest(this, bye).catch(() => {});
          }
          return;
        }
        this.host.resend2xx(tx, res);
        interval = Math.min(2 * interval, t2);
        entry.timer = this.host.timers.set(tick, interval);
      };
      entry.timer = this.host.timers.set(tick, interval);
    });
  }

  /** UAS: an ACK arrived for this dialog. */
  onAck(ack: SipRequest): void {
    const seq = Number((getHeader(ack, 'CSeq') ?? '0').trim().split(/\s+/)[0]);
    const p = this.pending2xx.get(seq);
    if (!p) return;
    this.host.timers.clear(p.timer);
    this.pending2xx.delete(seq);
    if (this.state === 'early') this.state = 'confirmed';
    p.resolve();
    this.emit('ack', ack);
  }

  /** An in-dialog request from the peer; the UA core has already checked the CSeq order. */
  onRequest(req: SipRequest, tx: ServerTransaction): void {
    if (req.method === 'INVITE') this.refreshTarget(req);
    if (this.listenerCount('request') > 0) this.emit('request', req, tx);
    else if (req.method === 'BYE') tx.respond(200);
    else tx.respond(405);
    if (req.method === 'BYE') this.end('bye');
  }

  /** Takes a new remote target from a target-refresh request or response. */
  refreshTarget(msg: SipRequest | SipResponse): void {
    try {
      const c = getHeaders(msg, 'Contact')[0];
      if (c !== undefined) this.remoteTarget = serializeUri(parseNameAddr(c).uri);
    } catch {
      // A bad Contact keeps the old target.
    }
  }

  /** Ends the dialog locally (no BYE sent) and stops retransmissions. */
  end(reason: string): void {
    if (this.state === 'terminated') return;
    this.state = 'terminated';
    for (const p of this.pending2xx.values()) {
      this.host.timers.clear(p.timer);
      p.resolve();
    }
    this.pending2xx.clear();
    this.host.terminated(this);
    this.emit('terminated', reason);
  }
}

/** Dialog key from its three identifiers. */
export function dialogKey(callId: string, localTag: string, remoteTag: string): string {
  return `${callId}\n${localTag}\n${remoteTag}`;
}

/** The From/To of a message without its tag parameter, for a dialog's local/remote URI. */
export function withoutTag(msg: SipRequest | SipResponse, header: 'From' | 'To'): string {
  const na = nameAddrHeader(msg, header);
  delete na.params.tag;
  return serializeNameAddr(na);
}
