/**
 * NgClientSet: one ng API over several proxies, as Kamailio's rtpengine sets do. New calls go to a proxy
 * chosen by weight (a hash of the call-id, so the choice is stable) or by least load (`statistics`); a call
 * stays on the proxy that took it; a proxy that stops answering is taken out and pinged until it recovers.
 */
import { EventEmitter } from 'node:events';
import type { BDict } from '../wire/bencode.js';
import { NgClient, type NgClientOptions } from './client.js';
import { NgCommands, type NgRequestOptions } from './commands.js';
import { NgLoadLimitError, NgTimeoutError, NgTransportError } from './errors.js';
import type { NgReply, StatisticsReply } from './replies.js';

/** One proxy of a set. */
export interface NgProxySpec {
  uri: string;
  /** Share of new calls (default 1). Weight 0: used only when every weighted proxy is out. */
  weight?: number;
  /** A ready client to use instead of one built from `uri`. */
  client?: NgClient;
}

/** Settings of an NgClientSet. */
export interface NgClientSetOptions {
  /** How new calls pick a proxy: `weight` (default) or `least-load`. */
  strategy?: 'weight' | 'least-load';
  /** Options of the per-proxy clients. */
  client?: NgClientOptions;
  /** Consecutive failed requests (no answer) before a proxy is taken out (default 1). */
  failuresToDisable?: number;
  /** How often a proxy that is out is pinged (ms, default 5000). */
  recheckMs?: number;
  /** How often `statistics` is polled for least-load (ms, default 5000; 0 = only on refreshLoad()). */
  loadPollMs?: number;
  /** Most calls remembered with their proxy (default 100000; the least recently used is forgotten). */
  maxCalls?: number;
  /** A remembered call not used for this long is forgotten (ms, default 6 h). */
  callTtlMs?: number;
}

/** A proxy's state as the set sees it. */
export interface NgProxyStatus {
  uri: string;
  weight: number;
  /** In service (answering). */
  up: boolean;
  /** Consecutive requests that got no answer. */
  failures: number;
  /** Sessions reported by `statistics` plus calls given to it since (least-load). */
  load: number;
}

/** Events of an NgClientSet. */
export interface NgClientSetEvents {
  /** A proxy stopped answering and was taken out. */
  down: [uri: string, error: Error];
  /** A proxy that was out answered a ping and is back. */
  up: [uri: string];
}

interface Proxy extends NgProxyStatus {
  client: NgClient;
  checking: boolean;
}

interface Owned {
  proxy: Proxy;
  expires: number;
}

/** Commands that create call state on the proxy that handles them (a failed proxy may be replaced). */
const CREATES_CALL = new Set(['offer', 'publish', 'subscribe request']);

/** Is this failure the proxy's absence (rather than its answer)? */
function unreachable(e: unknown): e is Error {
  return e instanceof NgTimeoutError || e instanceof NgTransportError;
}

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

export class NgClientSet extends NgCommands {
  private readonly proxies: Proxy[];
  private readonly calls = new Map<string, Owned>();
  private readonly events = new EventEmitter();
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly opts: Required<Omit<NgClientSetOptions, 'client'>>;
  private rr = 0;
  private closed = false;

  constructor(proxies: (string | NgProxySpec)[], opts: NgClientSetOptions = {}) {
    super();
    if (proxies.length === 0) throw new TypeError('NgClientSet needs at least one proxy');
    this.opts = {
      strategy: opts.strategy ?? 'weight',
      failuresToDisable: Math.max(1, opts.failuresToDisable ?? 1),
      recheckMs: opts.recheckMs ?? 5000,
      loadPollMs: opts.loadPollMs ?? 5000,
      maxCalls: Math.max(1, opts.maxCalls ?? 100_000),
      callTtlMs: opts.callTtlMs ?? 6 * 3600_000,
    };
    this.proxies = proxies.map((p) => {
      const spec = typeof p === 'string' ? { uri: p } : p;
      const client = spec.client ?? new NgClient(spec.uri, opts.client);
      const weight = spec.weight ?? 1;
      if (!(weight >= 0)) throw new TypeError(`weight of ${spec.uri} must be >= 0`);
      return { uri: client.uri, weight, up: true, failures: 0, load: 0, client, checking: false };
    });
    const recheck = setInterval(() => this.recheck(), this.opts.recheckMs);
    recheck.unref();
    this.timers.push(recheck);
    if (this.opts.strategy === 'least-load' && this.opts.loadPollMs > 0) {
      const poll = setInterval(() => void this.refreshLoad(), this.opts.loadPollMs);
      poll.unref();
      this.timers.push(poll);
    }
  }

  /** Subscribes to `down` / `up` events. */
  on<E extends keyof NgClientSetEvents>(event: E, listener: (...args: NgClientSetEvents[E]) => void): this {
    this.events.on(event, listener as (...a: unknown[]) => void);
    return this;
  }

  /** Unsubscribes. */
  off<E extends keyof NgClientSetEvents>(event: E, listener: (...args: NgClientSetEvents[E]) => void): this {
    this.events.off(event, listener as (...a: unknown[]) => void);
    return this;
  }

  /** A snapshot of every proxy's state. */
  status(): NgProxyStatus[] {
    return this.proxies.map(({ uri, weight, up, failures, load }) => ({ uri, weight, up, failures, load }));
  }

  /** The client of one proxy (for per-proxy commands such as `list`). */
  client(uri: string): NgClient | undefined {
    return this.proxies.find((p) => p.uri === uri || p.client.uri === uri)?.client;
  }

  /** The URI of the proxy that owns a call, if the set remembers it. */
  ownerOf(callId: string): string | undefined {
    return this.lookup(callId)?.uri;
  }

  /** Polls `statistics` on every proxy in service and updates their load. */
  async refreshLoad(): Promise<void> {
    await Promise.all(
      this.proxies
        .filter((p) => p.up)
        .map(async (p) => {
          try {
            const r = (await p.client.statistics()) as StatisticsReply;
            const cur = r.statistics?.currentstatistics;
            const n = Number(cur?.sessionsown ?? cur?.sessionstotal);
            if (Number.isFinite(n)) p.load = n;
          } catch (e) {
            if (unreachable(e)) this.failed(p, e);
          }
        }),
    );
  }

  override async request(command: string, dict: BDict = {}, opts: NgRequestOptions = {}): Promise<NgReply> {
    if (this.closed) throw new NgTransportError('NgClientSet is closed');
    const callId = typeof dict['call-id'] === 'string' ? dict['call-id'] : undefined;
    const owner = callId === undefined ? undefined : this.lookup(callId);
    if (owner && (owner.up || !CREATES_CALL.has(command))) {
      try {
        const reply = await this.sendTo(owner, command, dict, opts);
        if (callId !== undefined) this.afterSuccess(callId, owner, command, dict);
        return reply;
      } catch (e) {
        // The call's state lives on its proxy: only a new offer may move it elsewhere.
        if (!(unreachable(e) && CREATES_CALL.has(command))) throw e;
      }
    }
    const tried = new Set<Proxy>(owner ? [owner] : []);
    let lastError: unknown;
    for (let i = 0; i < this.proxies.length; i++) {
      const p = this.pick(callId, tried);
      if (!p) break;
      tried.add(p);
      try {
        const reply = await this.sendTo(p, command, dict, opts);
        if (callId !== undefined) {
          if (CREATES_CALL.has(command)) p.load++;
          this.afterSuccess(callId, p, command, dict);
        }
        return reply;
      } catch (e) {
        lastError = e;
        if (!(unreachable(e) || e instanceof NgLoadLimitError)) throw e;
      }
    }
    throw lastError ?? new NgTransportError('NgClientSet: no proxy available');
  }

  private async sendTo(p: Proxy, command: string, dict: BDict, opts: NgRequestOptions): Promise<NgReply> {
    try {
      const reply = await p.client.request(command, dict, opts);
      p.failures = 0;
      return reply;
    } catch (e) {
      if (unreachable(e)) this.failed(p, e);
      else p.failures = 0;
      throw e;
    }
  }

  private afterSuccess(callId: string, p: Proxy, command: string, dict: BDict): void {
    if (command === 'delete' && dict['via-branch'] === undefined) {
      this.calls.delete(callId);
      return;
    }
    this.calls.delete(callId);
    this.calls.set(callId, { proxy: p, expires: Date.now() + this.opts.callTtlMs });
    if (this.calls.size > this.opts.maxCalls) {
      const oldest = this.calls.keys().next().value;
      if (oldest !== undefined) this.calls.delete(oldest);
    }
  }

  private lookup(callId: string): Proxy | undefined {
    const o = this.calls.get(callId);
    if (!o) return undefined;
    if (o.expires < Date.now()) {
      this.calls.delete(callId);
      return undefined;
    }
    return o.proxy;
  }

  /** Chooses a proxy not yet tried: in service first; when none is, any (it may have come back). */
  private pick(callId: string | undefined, tried: Set<Proxy>): Proxy | undefined {
    const fresh = this.proxies.filter((p) => !tried.has(p));
    const up = fresh.filter((p) => p.up);
    const pool = up.length > 0 ? up : fresh;
    if (pool.length === 0) return undefined;
    const weighted = pool.filter((p) => p.weight > 0);
    const candidates = weighted.length > 0 ? weighted : pool;
    if (this.opts.strategy === 'least-load') {
      let best = candidates[0]!;
      for (const p of candidates) {
        const w = p.weight || 1;
        if (p.load / w < best.load / (best.weight || 1)) best = p;
      }
      return best;
    }
    const total = candidates.reduce((s, p) => s + (p.weight || 1), 0);
    // A stable choice per call-id; commands without one rotate.
    let n = (callId === undefined ? this.rr++ : fnv1a(callId)) % total;
    for (const p of candidates) {
      n -= p.weight || 1;
      if (n < 0) return p;
    }
    return candidates[0];
  }

  private failed(p: Proxy, e: Error): void {
    p.failures++;
    if (p.up && p.failures >= this.opts.failuresToDisable) {
      p.up = false;
      this.events.emit('down', p.uri, e);
    }
  }

  /** Pings proxies that are out, one ping in flight each. */
  private recheck(): void {
    for (const p of this.proxies) {
      if (p.up || p.checking || this.closed) continue;
      p.checking = true;
      p.client
        .ping({ timeoutMs: Math.max(100, Math.min(this.opts.recheckMs, 2000)) })
        .then(
          () => {
            if (this.closed || p.up) return;
            p.up = true;
            p.failures = 0;
            this.events.emit('up', p.uri);
          },
          () => {},
        )
        .finally(() => {
          p.checking = false;
        });
    }
  }

  /** Stops timers and closes every proxy's client. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    for (const p of this.proxies) p.client.close();
    this.calls.clear();
  }
}
