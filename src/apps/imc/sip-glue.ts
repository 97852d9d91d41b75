/**
 * The SIP front end of imc: checks each request (method, domain, sender, size, encoding), runs it through
 * the conference logic one at a time, answers it, and hands the resulting MESSAGEs to the fan-out queue.
 * Bad input is answered (4xx, plus an explanatory MESSAGE where the sender can be told) and never throws.
 */
import type { ServerTransaction, SipStack } from '../../sip/index.js';
import type { ImcStore, Party } from '../../store/imc-store.js';
import type { Logger } from '../../util/log.js';
import { type SipRequest, callIdOf, getHeader, nameAddrHeader, parseUri } from '../../wire/sip/index.js';
import { normDomain, partyUri, validDomain, validUser } from './address.js';
import { type Conference, type Outgoing, invitationFailed } from './conference.js';
import { Fanout } from './fanout.js';
import type { ImcMetrics } from './metrics.js';
import * as T from './texts.js';

export interface SipGlueOptions {
  /** Largest MESSAGE body accepted, in bytes (default 8192). */
  maxBody: number;
  /** Requests waiting for the conference logic before we answer 503 (default 1000). */
  maxPending: number;
  /** Headers added to every MESSAGE we send (name → value). */
  extraHeaders: Record<string, string>;
  fanoutQueue: number;
  fanoutConcurrency: number;
}

export const DEFAULT_SIP_GLUE_OPTIONS: SipGlueOptions = {
  maxBody: 8192,
  maxPending: 1000,
  extraHeaders: {},
  fanoutQueue: 10_000,
  fanoutConcurrency: 64,
};

const utf8 = new TextDecoder('utf-8', { fatal: true });

export class ImcSipGlue {
  readonly fanout: Fanout;
  private chain: Promise<void> = Promise.resolve();
  private pending = 0;
  private readonly opts: SipGlueOptions;

  constructor(
    private readonly stack: SipStack,
    private readonly conference: Conference,
    private readonly store: ImcStore,
    private readonly metrics: ImcMetrics,
    private readonly log: Logger,
    opts: Partial<SipGlueOptions> = {},
  ) {
    this.opts = { ...DEFAULT_SIP_GLUE_OPTIONS, ...opts };
    this.fanout = new Fanout(this.opts.fanoutQueue, this.opts.fanoutConcurrency, (status) =>
      this.metrics.sent.inc({ result: status >= 200 && status < 300 ? 'ok' : 'failed' }),
    );
    stack.on('request', (req, tx) => {
      try {
        this.onRequest(req, tx);
      } catch (e) {
        this.log.err(`imc: request failed: ${e instanceof Error ? e.message : String(e)}`);
        tx.respond(500);
      }
    });
  }

  /** Resolves once every accepted request is processed and every queued MESSAGE has its final answer. */
  async idle(): Promise<void> {
    // A failed invitation queues more work after its answer: settle until nothing new appears (bounded).
    for (let i = 0; i < 20; i++) {
      const chain = this.chain;
      await chain;
      await this.fanout.idle();
      const s = this.fanout.snapshot();
      if (chain === this.chain && s.queued === 0 && s.inFlight === 0) return;
    }
  }

  private reject(
    tx: ServerTransaction,
    status: number,
    reason: string,
    metric: string,
    headers?: Record<string, string>,
  ): false {
    this.metrics.rejected.inc({ reason: metric });
    tx.respond(status, reason, headers ? { headers } : undefined);
    return false;
  }

  /** Answers or queues one request; false when it was refused before processing. */
  private onRequest(req: SipRequest, tx: ServerTransaction): boolean {
    if (req.method === 'OPTIONS') {
      tx.respond(200, 'OK', { headers: { Allow: 'MESSAGE, OPTIONS' } });
      return true;
    }
    if (req.method !== 'MESSAGE')
      return this.reject(tx, 405, 'Method Not Allowed', 'method', { Allow: 'MESSAGE, OPTIONS' });
    const to = this.target(req);
    if (!to) return this.reject(tx, 404, 'Not Found', 'domain');
    const from = sender(req);
    if (!from) return this.reject(tx, 400, 'Bad From', 'from');
    if (req.body.length > this.opts.maxBody) {
      this.notify(req, from, to, T.tooLarge(this.opts.maxBody));
      return this.reject(tx, 413, 'Request Entity Too Large', 'size');
    }
    const contentType = getHeader(req, 'Content-Type') ?? 'text/plain';
    if (!/^\s*text\//i.test(contentType))
      return this.reject(tx, 415, 'Unsupported Media Type', 'content-type', { Accept: 'text/plain' });
    let body: string;
    try {
      body = utf8.decode(req.body);
    } catch {
      this.notify(req, from, to, T.NOT_UTF8);
      return this.reject(tx, 400, 'Body Not UTF-8', 'encoding');
    }
    if (this.pending >= this.opts.maxPending)
      return this.reject(tx, 503, 'Service Unavailable', 'busy', { 'Retry-After': '1' });
    this.pending++;
    this.chain = this.chain
      .then(() => this.process(req, tx, from, to, body))
      .finally(() => {
        this.pending--;
      });
    return true;
  }

  /** The Request-URI as a room/manager of our domain, or undefined. */
  private target(req: SipRequest): Party | undefined {
    try {
      const u = parseUri(req.uri);
      if ((u.scheme !== 'sip' && u.scheme !== 'sips') || u.user === undefined || !validUser(u.user))
        return undefined;
      const domain = normDomain(u.host);
      return domain === this.conference.opts.domain ? { user: u.user, domain } : undefined;
    } catch {
      return undefined;
    }
  }

  private async process(
    req: SipRequest,
    tx: ServerTransaction,
    from: Party,
    to: Party,
    body: string,
  ): Promise<void> {
    if (body === '') return void tx.respond(200);
    try {
      const result = await this.conference.handle({ from, to, body });
      this.metrics.received.inc({ kind: result.kind === 'text' ? 'text' : 'command' });
      if (result.kind !== 'text') this.metrics.commands.inc({ command: result.kind });
      this.send(req, result.out);
      tx.respond(200);
    } catch (e) {
      this.log.err(`imc: ${e instanceof Error ? e.message : String(e)}`);
      tx.respond(500, 'Server Internal Error');
    }
  }

  /** An explanatory MESSAGE to the sender of a refused request. */
  private notify(req: SipRequest, from: Party, to: Party, body: string): void {
    this.send(req, [{ to: from, from: to, body }], 'text/plain');
  }

  private send(req: SipRequest, out: Outgoing[], contentType?: string): void {
    if (out.length === 0) return;
    const ctype = contentType ?? getHeader(req, 'Content-Type') ?? 'text/plain';
    const headers: Record<string, string> = { ...this.opts.extraHeaders, 'In-Reply-To': callIdOf(req) };
    const dropped = this.fanout.push(
      out.map((o) => ({
        send: async () => {
          const uri = partyUri(o.to);
          const res = await this.stack.message({
            uri,
            to: `<${uri}>`,
            from: `<${partyUri(o.from)}>`,
            body: o.body,
            contentType: ctype,
            headers,
          });
          return res.status;
        },
        done: (status: number) => {
          if (status >= 300 && o.invitation) void this.dropInvitation(req, o);
        },
      })),
    );
    if (dropped > 0) {
      this.metrics.sent.inc({ result: 'dropped' }, dropped);
      this.log.warn(`imc: fan-out queue full, ${dropped} MESSAGE(s) dropped`);
    }
  }

  private async dropInvitation(req: SipRequest, o: Outgoing): Promise<void> {
    const inv = o.invitation;
    if (!inv) return;
    this.chain = this.chain.then(async () => {
      try {
        this.send(req, await invitationFailed(this.store, inv, o.to));
      } catch (e) {
        this.log.err(`imc: ${e instanceof Error ? e.message : String(e)}`);
      }
    });
  }
}

/** The From URI as user@domain, or undefined when it has no usable user. */
function sender(req: SipRequest): Party | undefined {
  try {
    const u = nameAddrHeader(req, 'From').uri;
    if (u.user === undefined || !validUser(u.user) || !validDomain(u.host)) return undefined;
    return { user: u.user, domain: normDomain(u.host) };
  } catch {
    return undefined;
  }
}
