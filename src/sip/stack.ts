/**
 * The UA core: ties the transport, the transaction layer and dialogs together and offers the API the apps
 * (media server, IM conferencing) use. It knows nothing about either app.
 */
import { randomBytes } from 'node:crypto';
import { addHeader, cseqOf, getHeader, getHeaders, nameAddrHeader, topVia } from '../wire/sip/headers.js';
import { type SipRequest, type SipResponse, serializeMessage } from '../wire/sip/message.js';
import { parseNameAddr } from '../wire/sip/name-addr.js';
import { buildResponse, headerList } from '../wire/sip/response.js';
import { serializeUri } from '../wire/sip/uri.js';
import { BRANCH_MAGIC, viaSentBy } from '../wire/sip/via.js';
import { Dialog, type DialogHost, dialogKey, withoutTag } from './dialog.js';
import { TypedEmitter } from './emitter.js';
import { nextHop } from './hop.js';
import { ClientTransaction, type ClientTransactionHost } from './transaction-client.js';
import { ServerTransaction, type ServerTransactionHost } from './transaction-server.js';
import { DEFAULT_TIMERS, type SipTimerConfig, TimerSet } from './timers.js';
import type {
  OutgoingRequest,
  OutgoingRequestOptions,
  SipStackEvents,
  SipStackOptions,
  SipStackStats,
} from './stack-types.js';
import { SipTransport } from './transport.js';
import { buildCancel, buildOutOfDialogRequest } from './uac-requests.js';
import { type Endpoint, type TransportName, responseDestination } from './transport-routing.js';

/** Creates and binds a SIP stack. */
export async function createSipStack(opts: SipStackOptions): Promise<SipStack> {
  const transport = await SipTransport.listen({
    ...(opts.udp ? { udp: opts.udp } : {}),
    ...(opts.tcp ? { tcp: opts.tcp } : {}),
  });
  return new SipStack(opts, transport);
}

export class SipStack extends TypedEmitter<SipStackEvents> {
  readonly config: SipTimerConfig;
  readonly timers = new TimerSet();
  private readonly serverTxs = new Map<string, ServerTransaction>();
  /** Requests answered 503 statelessly because too many server transactions were live. */
  overloaded = 0;
  private readonly clientTxs = new Map<string, ClientTransaction>();
  private readonly dialogs = new Map<string, Dialog>();
  private readonly txDialog = new WeakMap<ServerTransaction, Dialog>();
  private readonly serverHost: ServerTransactionHost;
  private readonly clientHost: ClientTransactionHost;
  private readonly dialogHost: DialogHost;
  private closed = false;

  constructor(
    private readonly opts: SipStackOptions,
    readonly transport: SipTransport,
  ) {
    super();
    this.config = {
      t1: opts.t1 ?? DEFAULT_TIMERS.t1,
      t2: opts.t2 ?? DEFAULT_TIMERS.t2,
      t4: opts.t4 ?? DEFAULT_TIMERS.t4,
    };
    const timers = this.timers;
    const config = this.config;
    this.serverHost = {
      timers,
      config,
      sendResponse: (res, source) => this.sendResponse(res, source),
      decorate: (tx, res) => this.decorateResponse(tx, res),
      onInvite2xx: (tx, res) => {
        const d = this.txDialog.get(tx);
        if (!d) return;
        if (d.state === 'early') d.state = 'confirmed';
        void d.startRetransmit2xx(tx, res);
      },
      terminated: (tx) => {
        if (this.serverTxs.get(tx.key) === tx) this.serverTxs.delete(tx.key);
      },
    };
    this.clientHost = {
      timers,
      config,
      send: (bytes, dest) => this.transport.send(bytes, dest),
      terminated: (tx) => {
        if (this.clientTxs.get(tx.key) === tx) this.clientTxs.delete(tx.key);
      },
    };
    this.dialogHost = {
      timers,
      config,
      sendRequest: (dialog, req, onProv) => this.sendInDialog(dialog, req, onProv),
      sendAck: (dialog, ack) => {
        const dest = nextHop(
          ack,
          dialog.transport,
          dialog.routeSet.length ? undefined : this.opts.outboundProxy,
        );
        this.transport.send(serializeMessage(ack), dest).catch(() => {});
      },
      resend2xx: (tx, res) => this.sendResponse(res, tx.source),
      contact: (t) => this.contact(t),
      newVia: (t) => this.newVia(t),
      terminated: (d) => {
        if (this.dialogs.get(d.id) === d) this.dialogs.delete(d.id);
      },
    };
    transport.on('message', (msg, source) => {
      try {
        if (msg.kind === 'request') this.onRequest(msg, source);
        else this.onResponse(msg);
      } catch (e) {
        // Validated messages should not fail here; a bug must not take the process down.
        this.emit('malformed', e instanceof Error ? e.message : String(e), source);
      }
    });
    transport.on('malformed', (reason, source) => this.emit('malformed', reason, source));
  }

  /** Counts for tests and metrics. */
  stats(): SipStackStats {
    return {
      serverTransactions: this.serverTxs.size,
      clientTransactions: this.clientTxs.size,
      dialogs: this.dialogs.size,
      timers: this.timers.size,
      transport: { ...this.transport.stats },
    };
  }

  /** Host:port for Via/Contact on a transport. */
  localAddress(t: TransportName): { host: string; port: number } {
    const a = t === 'tcp' ? this.transport.tcpAddress : this.transport.udpAddress;
    if (!a) throw new Error(`no ${t.toUpperCase()} transport`);
    const host = this.opts.publicHost ?? (a.host === '0.0.0.0' || a.host === '::' ? '127.0.0.1' : a.host);
    return { host, port: a.port };
  }

  private hostPort(t: TransportName): string {
    const { host, port } = this.localAddress(t);
    return `${host.includes(':') ? `[${host}]` : host}:${port}`;
  }

  /** Our Contact header value for a transport. */
  contact(t: TransportName): string {
    return `<sip:${this.opts.user ?? 'sipmedia'}@${this.hostPort(t)}${t === 'tcp' ? ';transport=tcp' : ''}>`;
  }

  private newVia(t: TransportName): string {
    return `SIP/2.0/${t.toUpperCase()} ${this.hostPort(t)};branch=${BRANCH_MAGIC}${randomBytes(8).toString('hex')};rport`;
  }

  private defaultTransport(): TransportName {
    return this.transport.udpAddress ? 'udp' : 'tcp';
  }

  // ---- incoming ----

  private serverKey(req: SipRequest, method = req.method): string {
    const via = topVia(req);
    const branch = via.params.branch ?? '';
    if (branch.startsWith(BRANCH_MAGIC))
      return `${branch}|${viaSentBy(via)}|${method === 'ACK' ? 'INVITE' : method}`;
    // RFC 2543 peers: fall back on the request identity (17.2.3, simplified).
    const cseq = cseqOf(req);
    const from = nameAddrHeader(req, 'From').params.tag ?? '';
    return `2543|${getHeader(req, 'Call-ID')}|${from}|${cseq.seq}|${viaSentBy(via)}|${method === 'ACK' ? 'INVITE' : method}`;
  }

  private onRequest(req: SipRequest, source: Endpoint): void {
    if (this.closed) return;
    if (req.method === 'ACK') {
      this.onAckRequest(req);
      return;
    }
    const key = this.serverKey(req);
    const existing = this.serverTxs.get(key);
    if (existing) {
      existing.onRetransmission();
      return;
    }
    if (this.serverTxs.size >= (this.opts.maxServerTransactions ?? 20_000)) {
      this.overloaded++;
      this.sendResponse(buildResponse(req, 503), source);
      return;
    }
    const tx = new ServerTransaction(req, source, key, this.serverHost);
    this.serverTxs.set(key, tx);
    if (req.method === 'CANCEL') {
      this.onCancel(req, tx);
      return;
    }
    if (req.method === 'INVITE' && this.opts.autoTrying !== false) tx.respond(100);
    const to = nameAddrHeader(req, 'To');
    if (to.params.tag !== undefined && to.params.tag !== null) {
      this.onInDialog(req, tx, to.params.tag);
      return;
    }
    const mf = getHeader(req, 'Max-Forwards');
    if (mf !== undefined && Number(mf) === 0 && req.method !== 'OPTIONS') {
      tx.respond(483);
      return;
    }
    if (this.listenerCount('request') > 0) this.emit('request', req, tx);
    else tx.respond(req.method === 'OPTIONS' ? 200 : 480);
  }

  private onInDialog(req: SipRequest, tx: ServerTransaction, localTag: string): void {
    const remoteTag = nameAddrHeader(req, 'From').params.tag ?? '';
    const dialog = this.dialogs.get(dialogKey(getHeader(req, 'Call-ID') ?? '', localTag, remoteTag));
    if (!dialog) {
      tx.respond(481);
      return;
    }
    const { seq } = cseqOf(req);
    if (dialog.remoteSeq > 0 && seq <= dialog.remoteSeq) {
      tx.respond(500, 'Server Internal Error', { headers: { 'Retry-After': '1' } });
      return;
    }
    dialog.remoteSeq = seq;
    this.txDialog.set(tx, dialog);
    dialog.onRequest(req, tx);
  }

  private onAckRequest(ack: SipRequest): void {
    // ACK to a non-2xx shares the INVITE's branch; ACK to a 2xx is its own request within the dialog.
    const inviteTx = this.serverTxs.get(this.serverKey(ack, 'INVITE'));
    if (inviteTx && inviteTx.state === 'completed') {
      inviteTx.onAck(ack);
      return;
    }
    const toTag = nameAddrHeader(ack, 'To').params.tag;
    const fromTag = nameAddrHeader(ack, 'From').params.tag;
    if (!toTag || !fromTag) return;
    this.dialogs.get(dialogKey(getHeader(ack, 'Call-ID') ?? '', toTag, fromTag))?.onAck(ack);
  }

  private onCancel(cancel: SipRequest, tx: ServerTransaction): void {
    const inviteTx = this.serverTxs.get(this.serverKey(cancel, 'INVITE'));
    if (!inviteTx) {
      tx.respond(481);
      return;
    }
    tx.respond(200);
    if (inviteTx.pending) {
      this.txDialog.get(inviteTx)?.end('cancel');
      inviteTx.onCancel(cancel);
    }
  }

  private onResponse(res: SipResponse): void {
    if (this.closed) return;
    const via = topVia(res);
    const key = `${via.params.branch ?? ''}|${cseqOf(res).method}`;
    const tx = this.clientTxs.get(key);
    if (tx) {
      tx.receive(res);
      return;
    }
    // A 2xx retransmitted after the INVITE transaction ended: ACK it again from the dialog.
    if (res.status >= 200 && res.status < 300 && cseqOf(res).method === 'INVITE') {
      const local = nameAddrHeader(res, 'From').params.tag ?? '';
      const remote = nameAddrHeader(res, 'To').params.tag ?? '';
      this.dialogs.get(dialogKey(getHeader(res, 'Call-ID') ?? '', local, remote))?.acknowledge(res);
    }
  }

  private sendResponse(res: SipResponse, source: Endpoint): void {
    const dest = responseDestination(res, source.connectionId);
    if (!dest) return;
    this.transport.send(serializeMessage(res), dest).catch(() => {});
  }

  private decorateResponse(tx: ServerTransaction, res: SipResponse): void {
    const ua = this.opts.userAgent ?? 'sipmedia';
    if (ua && getHeader(res, 'Server') === undefined) addHeader(res, 'Server', ua);
    const dialogCreating = tx.isInvite && res.status > 100 && res.status < 300;
    if (dialogCreating && getHeader(res, 'Contact') === undefined)
      addHeader(res, 'Contact', this.contact(tx.source.transport));
    if (tx.isInvite && res.status >= 200 && res.status < 300 && !this.txDialog.get(tx))
      this.createUasDialog(tx.request, tx);
    const d = this.txDialog.get(tx);
    if (d && d.state === 'early' && res.status >= 300) d.end('rejected');
  }

  // ---- dialogs ----

  /**
   * Creates the UAS dialog for an INVITE being answered on `tx` (early until the 2xx is sent). Responding
   * 2xx without calling this creates one implicitly; the dialog is then `tx`'s (see `dialogOf`).
   */
  createUasDialog(req: SipRequest, tx: ServerTransaction): Dialog {
    const existing = this.txDialog.get(tx);
    if (existing) return existing;
    const contact = getHeaders(req, 'Contact')[0];
    const d = new Dialog(
      {
        role: 'uas',
        callId: getHeader(req, 'Call-ID') ?? '',
        localTag: tx.toTag,
        remoteTag: nameAddrHeader(req, 'From').params.tag ?? '',
        localUri: withoutTag(req, 'To'),
        remoteUri: withoutTag(req, 'From'),
        remoteTarget: contact !== undefined ? serializeUri(parseNameAddr(contact).uri) : req.uri,
        routeSet: getHeaders(req, 'Record-Route'),
        localSeq: Math.floor(Math.random() * 10000) + 1,
        remoteSeq: cseqOf(req).seq,
        transport: tx.source.transport,
      },
      this.dialogHost,
    );
    this.dialogs.set(d.id, d);
    this.txDialog.set(tx, d);
    return d;
  }

  /** The dialog a server transaction belongs to (INVITE answered 2xx, or an in-dialog request). */
  dialogOf(tx: ServerTransaction): Dialog | undefined {
    return this.txDialog.get(tx);
  }

  private createUacDialog(req: SipRequest, res: SipResponse, transport: TransportName): Dialog {
    const contact = getHeaders(res, 'Contact')[0];
    const d = new Dialog(
      {
        role: 'uac',
        callId: getHeader(req, 'Call-ID') ?? '',
        localTag: nameAddrHeader(req, 'From').params.tag ?? '',
        remoteTag: nameAddrHeader(res, 'To').params.tag ?? '',
        localUri: withoutTag(req, 'From'),
        remoteUri: withoutTag(res, 'To'),
        remoteTarget: contact !== undefined ? serializeUri(parseNameAddr(contact).uri) : req.uri,
        routeSet: getHeaders(res, 'Record-Route').reverse(),
        localSeq: cseqOf(req).seq,
        remoteSeq: 0,
        transport,
      },
      this.dialogHost,
    );
    this.dialogs.set(d.id, d);
    return d;
  }

  private sendInDialog(
    dialog: Dialog,
    req: SipRequest,
    onProvisional?: (res: SipResponse) => void,
  ): Promise<SipResponse> {
    const dest = nextHop(req, dialog.transport, dialog.routeSet.length ? undefined : this.opts.outboundProxy);
    const tx = this.startClientTx(req, dest);
    tx.on('response', (res) => {
      if (res.status < 200) onProvisional?.(res);
      else if (req.method === 'INVITE' && res.status < 300) {
        dialog.refreshTarget(res);
        dialog.acknowledge(res);
      }
    });
    return tx.final;
  }

  // ---- outgoing ----

  private startClientTx(req: SipRequest, dest: Endpoint): ClientTransaction {
    if (this.closed) throw new Error('SIP stack closed');
    const ua = this.opts.userAgent ?? 'sipmedia';
    if (ua && req.method !== 'ACK' && getHeader(req, 'User-Agent') === undefined)
      addHeader(req, 'User-Agent', ua);
    const key = `${topVia(req).params.branch ?? ''}|${req.method}`;
    const tx = new ClientTransaction(req, dest, key, this.clientHost);
    this.clientTxs.set(key, tx);
    tx.start();
    return tx;
  }

  /** Builds and sends an out-of-dialog request (INVITE, MESSAGE, OPTIONS, ...). */
  request(o: OutgoingRequestOptions): OutgoingRequest {
    const proxy = o.proxy === null ? undefined : (o.proxy ?? this.opts.outboundProxy);
    // The next hop comes first (its transport goes into Via and Contact): a preloaded Route, else the proxy.
    let req: SipRequest = {
      kind: 'request',
      method: o.method,
      uri: o.uri,
      headers: [],
      body: Buffer.alloc(0),
    };
    for (const h of headerList(o.headers))
      if (h.name.toLowerCase() === 'route') addHeader(req, 'Route', h.value);
    const dest = nextHop(req, o.transport ?? this.defaultTransport(), proxy);
    req = buildOutOfDialogRequest(o, {
      via: this.newVia(dest.transport),
      from: `<sip:${this.opts.user ?? 'sipmedia'}@${this.hostPort(dest.transport)}>`,
      contact: this.contact(dest.transport),
      host: this.localAddress(dest.transport).host,
    });

    let dialog: Dialog | undefined;
    let provisional = false;
    let cancelWanted = false;
    let finalSeen = false;
    const tx = this.startClientTx(req, dest);
    const sendCancel = (): void => this.sendCancel(req, dest);
    tx.on('response', (res) => {
      if (res.status < 200) {
        provisional = true;
        if (cancelWanted && !finalSeen) {
          cancelWanted = false;
          sendCancel();
        }
        o.onProvisional?.(res);
        return;
      }
      finalSeen = true;
      if (req.method !== 'INVITE' || res.status >= 300) return;
      const remoteTag = nameAddrHeader(res, 'To').params.tag ?? '';
      const localTag = nameAddrHeader(req, 'From').params.tag ?? '';
      let d = this.dialogs.get(dialogKey(getHeader(req, 'Call-ID') ?? '', localTag, remoteTag));
      if (!d) {
        d = this.createUacDialog(req, res, dest.transport);
        d.state = 'confirmed';
      }
      dialog ??= d;
      d.acknowledge(res);
    });
    const result = tx.final.then((response) => (dialog ? { response, dialog } : { response }));
    return {
      request: req,
      result,
      cancel: () => {
        if (req.method !== 'INVITE' || finalSeen) return;
        if (provisional) sendCancel();
        else cancelWanted = true;
      },
    };
  }

  private sendCancel(invite: SipRequest, dest: Endpoint): void {
    this.startClientTx(buildCancel(invite), dest);
  }

  /** Sends a MESSAGE (RFC 3428) and resolves with the final response. */
  async message(o: Omit<OutgoingRequestOptions, 'method'>): Promise<SipResponse> {
    return (await this.request({ ...o, method: 'MESSAGE' }).result).response;
  }

  /** Stops everything: transactions end (pending requests resolve with 503), dialogs end, sockets close. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const tx of [...this.clientTxs.values()]) tx.terminate();
    for (const tx of [...this.serverTxs.values()]) tx.terminate();
    for (const d of [...this.dialogs.values()]) d.end('closed');
    this.timers.clearAll();
    this.transport.close();
    this.removeAllListeners();
  }
}
