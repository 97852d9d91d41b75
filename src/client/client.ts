/** NgClient: the typed ng API over one proxy, on any transport. */
import { randomBytes } from 'node:crypto';
import type { BDict } from '../wire/bencode.js';
import { formatNgMessage } from '../wire/ng-message.js';
import { NgCommands, type NgRequestOptions } from './commands.js';
import { NgError, NgLoadLimitError, NgTransportError } from './errors.js';
import { HttpTransport } from './http-transport.js';
import type { NgReply } from './replies.js';
import { TcpTransport } from './tcp-transport.js';
import type { NgTransport } from './transport.js';
import { UdpTransport, type UdpRetransmitOptions } from './udp-transport.js';
import { formatNgUri, type NgEndpoint, parseNgUri } from './uri.js';
import { WsTransport } from './ws-transport.js';

/** Settings of an NgClient. */
export interface NgClientOptions extends UdpRetransmitOptions {
  /** Overall time to wait for a reply, retransmissions and reconnects included (ms, default 5000). */
  timeoutMs?: number;
  /** Send JSON dictionaries instead of bencode (rtpengine accepts both; default false). */
  json?: boolean;
  /**
   * Add `supports: [load limit]` to requests (default true), so an overloaded proxy answers `load limit`
   * (NgLoadLimitError) instead of a plain error.
   */
  supportsLoadLimit?: boolean;
  /** Cookie prefix (default: 8 random hex digits); each request gets `<prefix>_<n>`. */
  cookiePrefix?: string;
  /** Use this transport instead of one built from the URI (tests, custom carriers). */
  transport?: NgTransport;
}

/** The default proxy address: rtpengine's default ng listener. */
export const DEFAULT_NG_URI = 'udp://127.0.0.1:2223';

/**
 * A client of one ng proxy (rtpengine or `sipmedia proxy`).
 *
 * ```ts
 * const ng = new NgClient('udp://127.0.0.1:2223');
 * const { sdp } = await ng.offer({ callId, fromTag, sdp: callerSdp, ice: 'remove' });
 * ng.close();
 * ```
 * Requests may run concurrently; replies are matched by cookie. Call `close()` when done.
 */
export class NgClient extends NgCommands {
  /** The proxy's canonical URI. */
  readonly uri: string;
  /** The parsed proxy address. */
  readonly endpoint: NgEndpoint;
  private readonly transport: NgTransport;
  private readonly prefix: string;
  private seq = 0;

  constructor(
    uri: string | NgEndpoint = DEFAULT_NG_URI,
    private readonly options: NgClientOptions = {},
  ) {
    super();
    this.endpoint = typeof uri === 'string' ? parseNgUri(uri) : uri;
    this.uri = formatNgUri(this.endpoint);
    this.transport = options.transport ?? createTransport(this.endpoint, options);
    this.prefix = options.cookiePrefix ?? randomBytes(4).toString('hex');
  }

  /** A fresh cookie: unique per request of this client. */
  private nextCookie(): string {
    this.seq = this.seq >= Number.MAX_SAFE_INTEGER ? 1 : this.seq + 1;
    return `${this.prefix}_${this.seq}`;
  }

  override async request(command: string, dict: BDict = {}, opts: NgRequestOptions = {}): Promise<NgReply> {
    const body: BDict = { ...dict, command };
    if (this.options.supportsLoadLimit !== false && command !== 'ping') addSupport(body, 'load limit');
    const cookie = this.nextCookie();
    const message = formatNgMessage(cookie, body, this.options.json ?? false);
    const timeoutMs = opts.timeoutMs ?? this.options.timeoutMs ?? 5000;
    const reply = await this.transport.send(cookie, message, { timeoutMs, command });
    return interpretReply(command, reply);
  }

  /** Closes the transport; requests still waiting reject with NgTransportError. */
  close(): void {
    this.transport.close();
  }
}

function addSupport(body: BDict, what: string): void {
  const s = body.supports;
  if (s === undefined) body.supports = [what];
  else if (Array.isArray(s) && !s.includes(what)) body.supports = [...s, what];
}

/** Turns a reply dictionary into a result: ok/pong resolve, error and load limit throw. */
export function interpretReply(command: string, body: BDict): NgReply {
  const result = body.result;
  if (result === 'ok' || result === 'pong') return body as NgReply;
  if (result === 'error') {
    const reason = body['error-reason'];
    throw new NgError(typeof reason === 'string' ? reason : 'unspecified error', command);
  }
  if (result === 'load limit') {
    const m = body.message ?? body['error-reason'];
    throw new NgLoadLimitError(command, typeof m === 'string' ? m : undefined);
  }
  throw new NgTransportError(`ng ${command}: reply has unknown result ${JSON.stringify(result)}`);
}

/** Builds the transport an endpoint names. */
export function createTransport(e: NgEndpoint, opts: UdpRetransmitOptions = {}): NgTransport {
  switch (e.transport) {
    case 'udp':
      return new UdpTransport(e.host, e.port, opts);
    case 'tcp':
      return new TcpTransport(e.host, e.port);
    case 'ws':
      return new WsTransport(formatNgUri(e));
    case 'http':
      return new HttpTransport(formatNgUri(e), e.host, e.port, e.path);
  }
}
