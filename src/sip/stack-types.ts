/** Options, events and result types of the UA core (see stack.ts). */
import type { Dialog } from './dialog.js';
import type { SipRequest, SipResponse } from '../wire/sip/message.js';
import type { ServerTransaction } from './transaction-server.js';
import type { TransportStats } from './transport.js';
import type { Endpoint, TransportName } from './transport-routing.js';
import type { ListenAddress } from './transport.js';

export interface SipStackOptions {
  udp?: ListenAddress;
  tcp?: ListenAddress;
  /** Timer T1 in ms (default 500); tests shrink it. */
  t1?: number;
  t2?: number;
  t4?: number;
  /** Every request we originate outside a route set goes here (a SIP URI, e.g. `sip:10.0.0.1:5060`). */
  outboundProxy?: string;
  /** Host written in Via and Contact (default: the bound address; 127.0.0.1 when bound to a wildcard). */
  publicHost?: string;
  /** User part of our Contact and default From (default 'sipmedia'). */
  user?: string;
  /** User-Agent / Server header value; '' to omit (default 'sipmedia'). */
  userAgent?: string;
  /** Send 100 Trying at once for every new INVITE (default true). */
  autoTrying?: boolean;
  /**
   * Live server transactions allowed (default 20000). Each lives up to 64*T1 after its answer, so a flood of
   * requests is answered 503 statelessly beyond this instead of growing memory.
   */
  maxServerTransactions?: number;
}

export interface SipStackStats {
  serverTransactions: number;
  clientTransactions: number;
  dialogs: number;
  /** Live RFC 3261 timers (transactions and 2xx retransmission). */
  timers: number;
  transport: TransportStats;
}

export type SipStackEvents = {
  /** A new request outside any dialog (INVITE, MESSAGE, OPTIONS...). Answer with `tx.respond()`. */
  request: [req: SipRequest, tx: ServerTransaction];
  /** Malformed input from the network (already answered with 400 or dropped). */
  malformed: [reason: string, source: Endpoint];
};

export interface OutgoingRequestOptions {
  method: string;
  /** Request-URI. */
  uri: string;
  /** From as a name-addr; a tag is added when missing. Default `<sip:USER@HOST:PORT>`. */
  from?: string;
  /** To as a name-addr (default `<uri>`). */
  to?: string;
  callId?: string;
  cseq?: number;
  headers?: Record<string, string | string[]>;
  body?: Buffer | string;
  /** Content-Type for the body (default text/plain for MESSAGE, application/sdp otherwise). */
  contentType?: string;
  /** Transport when the next-hop URI does not say (default UDP when bound, else TCP). */
  transport?: TransportName;
  /** Next hop for this request instead of the stack's outbound proxy; null sends to the Request-URI. */
  proxy?: string | null;
  onProvisional?: (res: SipResponse) => void;
}

export interface ClientResult {
  response: SipResponse;
  /** For a 2xx to INVITE: the confirmed dialog (already ACKed). */
  dialog?: Dialog;
}

export interface OutgoingRequest {
  readonly request: SipRequest;
  /** The final response (a local 408 on timeout, 503 on transport failure). */
  readonly result: Promise<ClientResult>;
  /** INVITE only: sends CANCEL once a provisional response arrived (at once if one already did). */
  cancel(): void;
}
