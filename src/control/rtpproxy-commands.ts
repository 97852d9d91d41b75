/**
 * The RTPproxy front end: one command line in, one reply out, against the same engine as ng. U/L become
 * stream updates (src/engine/rtpp-session.ts), D/Q/I/X/G read or end engine calls. Never throws: every
 * failure is an `E<n>` reply with RTPproxy's code.
 */
import type { Call, CloseReason, Monologue } from '../engine/call.js';
import type { Engine } from '../engine/engine.js';
import { EngineError } from '../engine/options.js';
import { type StreamUpdate, callTtl, lookupStream, updateStream } from '../engine/rtpp-session.js';
import type { Logger } from '../util/log.js';
import {
  RTPP_E,
  type RtppCommand,
  RtppError,
  type RtppSession,
  formatErrorReply,
  formatPortReply,
  parseRtppCommand,
} from '../wire/rtpproxy-command.js';
import type { Notifier } from './rtpproxy-notify.js';

/** Base protocol version, the answer to `V`. */
export const RTPP_VERSION = '20040107';
/** Replies longer than this are refused with E25, as RTPproxy does with its fixed reply buffer. */
const MAX_REPLY = 1024;

/** Playback as the RTPproxy front end needs it (the engine's MediaService fits this shape). */
export interface RtppPlayback {
  playMedia(call: Call, parties: Monologue[], req: { file?: string; repeat?: number }): Promise<number>;
  stopMedia(call: Call, parties: Monologue[]): number | undefined;
}

/** Per-call RTPproxy state: the notify target and the weak/strong holds D releases. */
interface RtppCallState {
  notify: { socket: string; tag: string } | undefined;
  strong: boolean;
  weak: Set<string>;
}

const GLOBAL_STATS = [
  'nsess_created',
  'nsess_destroyed',
  'nsess_complete',
  'nsess_nortp',
  'nsess_owrtp',
  'nsess_nortcp',
  'nsess_owrtcp',
  'ncmds_rcvd',
  'ncmds_succd',
  'ncmds_errs',
  'ncmds_repld',
] as const;

const QUERY_DEFAULT = ['ttl', 'npkts_ina', 'npkts_ino', 'nrelayed', 'ndropped'];

const TIMEOUTS = new Set<CloseReason>(['timeout', 'silent timeout', 'final timeout', 'offer timeout']);

function packetsOf(m: Monologue | undefined): { rtp: number; rtcp: number; dropped: number } {
  const c = { rtp: 0, rtcp: 0, dropped: 0 };
  for (const s of m?.media ?? []) {
    if (!s.pair) continue;
    for (const leg of [s.pair.rtp, s.pair.rtcp]) {
      c.rtp += leg.rtp.packets;
      c.rtcp += leg.rtcp.packets;
      c.dropped += leg.dropped;
    }
  }
  return c;
}

export class RtppDispatcher {
  readonly counters: Record<(typeof GLOBAL_STATS)[number], number> = {
    nsess_created: 0,
    nsess_destroyed: 0,
    nsess_complete: 0,
    nsess_nortp: 0,
    nsess_owrtp: 0,
    nsess_nortcp: 0,
    nsess_owrtcp: 0,
    ncmds_rcvd: 0,
    ncmds_succd: 0,
    ncmds_errs: 0,
    ncmds_repld: 0,
  };
  /** Commands per letter, for /metrics. */
  readonly perCommand: Record<string, number> = {};
  /** Called after each command was handled. Must not throw. */
  readonly observers: (() => void)[] = [];
  private readonly state = new WeakMap<Call, RtppCallState>();
  /** e/i modifiers work when interfaces named `internal` and `external` exist (RTPproxy's bridge mode). */
  readonly bridge: boolean;

  constructor(
    private readonly engine: Engine,
    private readonly notifier: Notifier,
    private readonly log: Logger,
    private readonly playback?: RtppPlayback,
  ) {
    const ifs = engine.config.interfaces;
    this.bridge = ifs.has('internal') && ifs.has('external');
    engine.closeListeners.push((call, reason) => this.onClose(call, reason));
  }

  /** Capabilities (`VF`), true only for what is implemented. */
  capabilities(): Map<string, boolean> {
    return new Map([
      ['20040107', true],
      ['20050322', true],
      ['20060704', false],
      ['20071116', false],
      ['20071218', false],
      ['20080403', true],
      ['20081102', this.playback !== undefined],
      ['20081224', this.notifier.enabled],
      ['20090810', this.bridge],
      ['20140323', false],
      ['20140617', false],
      ['20141004', true],
      ['20150330', true],
      ['20150420', false],
      ['20150617', false],
      ['20191015', false],
      ['20200226', false],
    ]);
  }

  /** Handles one command line; returns the reply without the trailing newline. */
  async handle(line: string): Promise<string> {
    this.counters.ncmds_rcvd++;
    let reply: string;
    try {
      const cmd = parseRtppCommand(line, { bridge: this.bridge });
      this.perCommand[cmd.kind] = (this.perCommand[cmd.kind] ?? 0) + 1;
      reply = await this.run(cmd);
    } catch (e) {
      reply = this.failure(e, line);
    }
    if (reply.length > MAX_REPLY) reply = formatErrorReply(RTPP_E.replyTooBig);
    if (/^E\d+$/.test(reply)) this.counters.ncmds_errs++;
    else this.counters.ncmds_succd++;
    this.counters.ncmds_repld++;
    for (const o of this.observers) o();
    return reply;
  }

  private failure(e: unknown, line: string): string {
    if (e instanceof RtppError) {
      this.log.info(`rtpproxy: E${e.code} for '${line.slice(0, 120)}': ${e.message}`);
      return formatErrorReply(e.code);
    }
    if (e instanceof EngineError) {
      this.log.info(`rtpproxy: '${line.slice(0, 120)}': ${e.reason}`);
      if (e.loadLimit) return formatErrorReply(RTPP_E.overload);
      if (/interface for address family/.test(e.reason)) return formatErrorReply(RTPP_E.noAddressForFamily);
      if (/Unknown interface/.test(e.reason)) return formatErrorReply(RTPP_E.localAddress);
      return formatErrorReply(RTPP_E.listenFailed);
    }
    this.log.err(`rtpproxy: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    return formatErrorReply(RTPP_E.listenFailed);
  }

  private async run(cmd: RtppCommand): Promise<string> {
    switch (cmd.kind) {
      case 'V':
        return RTPP_VERSION;
      case 'VF':
        return this.capabilities().get(cmd.date) ? '1' : '0';
      case 'I':
        await this.engine.refreshCounters?.();
        return this.info(cmd.brief);
      case 'X':
        this.engine.shutdown();
        return '0';
      case 'G':
        return this.globalStats(cmd.names, cmd.verbose);
      case 'U':
      case 'L':
        return this.updateOrLookup(cmd);
      case 'D':
        return this.delete(cmd);
      case 'Q':
        await this.engine.refreshCounters?.();
        return this.query(cmd);
      case 'P':
        return this.play(cmd);
      case 'S': {
        const { call, party } = this.find(cmd);
        if (this.playback && party.peer) this.playback.stopMedia(call, [party.peer]);
        return '0';
      }
      case 'R':
      case 'C':
        this.find(cmd);
        // Recording and copying are not offered over this protocol (VF 20071218 answers 0).
        throw new RtppError(RTPP_E.copyFailed, 'recording/copy is not supported over the RTPproxy protocol');
      case 'N':
        this.find(cmd);
        return '0';
    }
  }

  /** The call and the party a session command names; tags match either way round, as in RTPproxy. */
  private find(s: RtppSession): { call: Call; party: Monologue } {
    const call = this.engine.calls.get(s.callId);
    const party = call?.byTag(s.fromTag.tag) ?? (s.toTag ? call?.byTag(s.toTag.tag) : undefined);
    if (!call || !party) throw new RtppError(RTPP_E.sessionUnknown, 'session not found');
    return { call, party };
  }

  private callState(call: Call): RtppCallState {
    let st = this.state.get(call);
    if (!st) {
      st = { notify: undefined, strong: false, weak: new Set() };
      this.state.set(call, st);
    }
    return st;
  }

  private interfaceNamed(address: string): string {
    const i = this.engine.config.interfaces.list.find(
      (x) => x.address === address || x.advertised === address,
    );
    if (!i) throw new RtppError(RTPP_E.localAddress, `${address} is not a local media address`);
    return i.name;
  }

  private direction(cmd: Extract<RtppCommand, { kind: 'U' | 'L' }>): [string, string] | undefined {
    const m = cmd.modifiers;
    const ifs = this.engine.config.interfaces;
    if (m.local) {
      const name = 'label' in m.local ? m.local.label : this.interfaceNamed(m.local.address);
      if (!ifs.has(name)) throw new RtppError(RTPP_E.localAddress, `no interface '${name}'`);
      return [name, name];
    }
    if (m.remote) {
      const fam = m.remote.includes(':') ? 6 : 4;
      const i = ifs.pick(undefined, fam);
      if (!i) throw new RtppError(RTPP_E.noAddressForFamily, `no local address reaches ${m.remote}`);
      return [i.name, i.name];
    }
    if (m.sides.length === 0) return undefined;
    const name = (c: 'e' | 'i') => (c === 'e' ? 'external' : 'internal');
    const first = name(m.sides[0]!);
    return [first, m.sides[1] ? name(m.sides[1]) : 'internal'];
  }

  private async updateOrLookup(cmd: Extract<RtppCommand, { kind: 'U' | 'L' }>): Promise<string> {
    const m = cmd.modifiers;
    if (cmd.notify && !this.notifier.enabled)
      throw new RtppError(RTPP_E.notifyDisabled, 'notification socket given but notifications are off');
    if (m.ptime !== undefined) this.log.debug(`rtpproxy: z${m.ptime} ignored (no repacketization)`);
    const u: StreamUpdate = {
      callId: cmd.callId,
      fromTag: cmd.fromTag.tag,
      index: cmd.fromTag.medianum,
      media: cmd.media,
      family: m.ipv6 ? 6 : 4,
      asymmetric: m.asymmetric === true,
      newPort: m.newPort,
    };
    if (cmd.toTag) u.toTag = cmd.toTag.tag;
    if (m.codecs) u.payloadTypes = m.codecs;
    const dir = this.direction(cmd);
    if (dir) u.direction = dir;
    if (cmd.kind === 'L') {
      const r = await lookupStream(this.engine, u);
      return r ? formatPortReply(r.port, r.address) : '0';
    }
    const r = await updateStream(this.engine, u);
    const call = this.engine.calls.get(cmd.callId);
    if (call) {
      const st = this.callState(call);
      if (m.weak) st.weak.add(u.fromTag);
      else st.strong = true;
      if (cmd.notify) {
        if (this.notifier.allowed(cmd.notify.socket)) st.notify = cmd.notify;
        else this.log.warn(`rtpproxy: notify target ${cmd.notify.socket} is not allowed (--notify-allow)`);
      } else st.notify = undefined;
    }
    return formatPortReply(r.port, r.address);
  }

  private delete(cmd: Extract<RtppCommand, { kind: 'D' }>): string {
    const { call, party } = this.find(cmd);
    const st = this.state.get(call);
    if (st) {
      if (cmd.weak) {
        st.weak.delete(cmd.fromTag.tag);
        if (cmd.toTag) st.weak.delete(cmd.toTag.tag);
      } else st.strong = false;
      // Weak D releases only its own hold; the call lives on while another is held.
      if (st.strong || st.weak.size > 0) return '0';
    }
    const other = cmd.toTag && cmd.toTag.tag !== party.tag ? cmd.toTag.tag : undefined;
    const req: Parameters<Engine['delete']>[0] = { callId: call.callId, fromTag: party.tag };
    if (other && call.byTag(other)) req.toTag = other;
    this.engine.delete(req);
    return '0';
  }

  private query(cmd: Extract<RtppCommand, { kind: 'Q' }>): string {
    const { call } = this.find(cmd);
    const [a, o] = call.monologues;
    const ina = packetsOf(a);
    const ino = packetsOf(o);
    const dropped = ina.dropped + ino.dropped;
    const values: Record<string, number> = {
      ttl: callTtl(this.engine, call),
      npkts_ina: ina.rtp + ina.rtcp,
      npkts_ino: ino.rtp + ino.rtcp,
      nrelayed: Math.max(0, ina.rtp + ina.rtcp + ino.rtp + ino.rtcp - dropped),
      ndropped: dropped,
    };
    const names = cmd.counters.length ? cmd.counters : QUERY_DEFAULT;
    const out: string[] = [];
    for (const n of names) {
      const v = values[n];
      // rtpa_* analysis counters and the like are not tracked: a truthful failure, not a made-up zero.
      if (v === undefined) throw new RtppError(RTPP_E.queryFailed, `counter '${n}' is not available`);
      out.push(cmd.verbose ? `${n}=${v}` : String(v));
    }
    return out.join(' ');
  }

  private async play(cmd: Extract<RtppCommand, { kind: 'P' }>): Promise<string> {
    const { call, party } = this.find(cmd);
    if (!this.playback || !party.peer)
      throw new RtppError(RTPP_E.playFailed, 'playback is not available in this daemon');
    try {
      // The prompt goes to the party the command names: it replaces what its peer sends.
      await this.playback.playMedia(call, [party.peer], { file: cmd.prompt, repeat: cmd.count });
    } catch (e) {
      if (e instanceof EngineError) throw new RtppError(RTPP_E.playFailed, e.reason);
      throw e;
    }
    return '0';
  }

  private info(brief: boolean): string {
    let streams = 0;
    let received = 0;
    let sent = 0;
    const lines: string[] = [];
    for (const call of this.engine.calls.values()) {
      for (const p of call.pairs()) {
        streams++;
        for (const leg of [p.rtp, p.rtcp]) {
          const n = leg.rtp.packets + leg.rtcp.packets;
          received += n;
          sent += Math.max(0, n - leg.dropped);
        }
      }
      if (!brief) {
        const [a, o] = call.monologues;
        const pa = packetsOf(a);
        const po = packetsOf(o);
        lines.push(
          `${call.callId}/${a?.tag ?? ''}: stats = ${pa.rtp + pa.rtcp}/${po.rtp + po.rtcp}/${pa.dropped + po.dropped}, ttl = ${callTtl(this.engine, call)}`,
        );
      }
    }
    return [
      `sessions created: ${this.engine.stats.managed}`,
      `active sessions: ${this.engine.calls.size}`,
      `active streams: ${streams}`,
      `packets received: ${received}`,
      `packets transmitted: ${sent}`,
      ...lines,
    ].join('\n');
  }

  private globalStats(names: string[], verbose: boolean): string {
    const list = names.length ? names : [...GLOBAL_STATS];
    const c = { ...this.counters, nsess_created: this.engine.stats.managed };
    const out: string[] = [];
    for (const n of list) {
      if (!(n in c)) throw new RtppError(RTPP_E.statsFailed, `unknown counter '${n}'`);
      const v = c[n as keyof typeof c];
      out.push(verbose ? `${n}=${v}` : String(v));
    }
    return out.join(' ');
  }

  private onClose(call: Call, reason: CloseReason): void {
    const c = this.counters;
    c.nsess_destroyed++;
    if (call.answered) c.nsess_complete++;
    const per = call.monologues.map(packetsOf);
    const rtpSides = per.filter((p) => p.rtp > 0).length;
    const rtcpSides = per.filter((p) => p.rtcp > 0).length;
    if (rtpSides === 0) c.nsess_nortp++;
    else if (rtpSides === 1) c.nsess_owrtp++;
    if (rtcpSides === 0) c.nsess_nortcp++;
    else if (rtcpSides === 1) c.nsess_owrtcp++;
    const st = this.state.get(call);
    if (st?.notify && TIMEOUTS.has(reason)) void this.notifier.notify(st.notify.socket, st.notify.tag);
  }
}
