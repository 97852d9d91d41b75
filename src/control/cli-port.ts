/**
 * rtpengine's CLI port (`--listen-cli`), the protocol `rtpengine-ctl` speaks: the client sends one line
 * (`list numsessions`, `terminate all`, `set maxsessions 10` ...), the server writes plain text and closes.
 * Output follows rtpengine's wording, so scripts that parse it keep working.
 */
import type { Server, Socket } from 'node:net';
import type { Call } from '../engine/call.js';
import type { Engine } from '../engine/engine.js';
import type { Logger } from '../util/log.js';
import { listenControlTcp } from './listeners.js';
import { trafficTotals } from './metrics.js';

const MAX_LINE = 4096;
const MAX_CONNECTIONS = 64;

/** Tunables `list X` / `set X N` reach, by rtpengine's names. */
const TUNABLES = {
  maxsessions: { key: 'maxSessions', min: -1, label: 'maxsessions' },
  timeout: { key: 'timeout', min: 0, label: 'TIMEOUT' },
  silenttimeout: { key: 'silentTimeout', min: 0, label: 'SILENT_TIMEOUT' },
  finaltimeout: { key: 'finalTimeout', min: 0, label: 'FINAL_TIMEOUT' },
  offertimeout: { key: 'offerTimeout', min: 0, label: 'OFFER_TIMEOUT' },
  deletedelay: { key: 'deleteDelay', min: 0, label: 'DELETE_DELAY' },
} as const;
type Tunable = keyof typeof TUNABLES;

const isTunable = (k: string | undefined): k is Tunable => k !== undefined && Object.hasOwn(TUNABLES, k);

function row(label: string, value: string | number): string {
  return ` ${label.padEnd(48)}:${value}`;
}

export class CliCommands {
  constructor(private readonly engine: Engine) {}

  /** Runs one command line; returns the text to send back. Never throws. */
  run(line: string): string {
    const argv = line
      .trim()
      .split(/\s+/)
      .filter((a) => a !== '');
    const [verb, what, ...rest] = argv;
    try {
      switch (verb?.toLowerCase()) {
        case 'list':
        case 'get':
          return this.list(what?.toLowerCase(), rest);
        case 'terminate':
          return this.terminate(what);
        case 'set':
          return this.set(what?.toLowerCase(), rest);
        case 'help':
          return 'Supported commands: list numsessions|maxsessions|totals|sessions all|sessions <callid>|timeout..., terminate <callid>|all, set maxsessions|timeout|silenttimeout|finaltimeout|offertimeout|deletedelay <n>\n';
      }
    } catch (e) {
      return `Internal error: ${(e as Error).message}\n`;
    }
    return `Unknown or incomplete command::${argv.join(' ')}\n`;
  }

  private list(what: string | undefined, rest: string[]): string {
    const e = this.engine;
    if (what === 'numsessions') {
      const n = e.calls.size;
      return [
        `Current sessions own: ${n}`,
        'Current sessions foreign: 0',
        `Current sessions total: ${n}`,
        `Current transcoded media: ${e.transcodedMedia()}`,
        `Current sessions ipv4 only media: ${this.byFamily(4)}`,
        `Current sessions ipv6 only media: ${this.byFamily(6)}`,
        `Current sessions ip mixed  media: ${this.byFamily(0)}`,
        '',
      ].join('\n');
    }
    if (what === 'maxsessions') return `Maximum sessions configured on rtpengine: ${e.config.maxSessions}\n`;
    if (what === 'totals') return this.totals();
    if (what === 'sessions') {
      const sel = rest[0];
      if (sel === undefined) return 'Unknown or incomplete command::list sessions\n';
      if (sel === 'all' || sel === 'own' || sel === 'foreign') {
        if (sel === 'foreign' || e.calls.size === 0) return 'No sessions on this media relay.\n';
        return [...e.calls.values()].map((c) => this.oneLine(c)).join('');
      }
      const call = e.calls.get(sel);
      return call ? this.details(call) : `\nCall ID not found (${sel}).\n\n`;
    }
    if (isTunable(what) && what !== 'maxsessions') {
      const t = TUNABLES[what];
      return `${t.label}=${e.config[t.key]}\n`;
    }
    return `Unknown or incomplete command::list ${[what, ...rest].filter(Boolean).join(' ')}\n`;
  }

  private byFamily(f: 4 | 6 | 0): number {
    let n = 0;
    for (const c of this.engine.calls.values()) {
      const fams = new Set<number>();
      for (const p of c.pairs()) fams.add(p.rtp.family);
      if (f === 0 ? fams.size > 1 : fams.size === 1 && fams.has(f)) n++;
    }
    return n;
  }

  private oneLine(c: Call): string {
    return `callid: ${c.callId.padStart(60)} | deletionmark: ${c.deleteAt ? 'yes' : ' no'} | created: ${Math.floor(
      c.created / 1000,
    )
      .toString()
      .padStart(11)} | proxy:- | redis_keyspace:0 | foreign:no\n`;
  }

  private details(c: Call): string {
    const out = [
      '',
      `callid: ${c.callId}`,
      `deletionmark: ${c.deleteAt ? 'yes' : 'no'}`,
      `created: ${Math.floor(c.created / 1000)}`,
      `last_signal: ${Math.floor(c.lastSignal / 1000)}`,
      'foreign: no',
      '',
    ];
    for (const m of c.monologues) {
      const duration = ((Date.now() - m.created) / 1000).toFixed(6);
      out.push(
        `--- Tag '${m.tag}', label '${m.label ?? ''}', branch '${m.viaBranch ?? ''}', callduration ${duration}`,
      );
      out.push(`---     in dialogue with '${m.peer?.tag ?? ''}'`);
      for (const s of m.media) {
        out.push(`------ Media #${s.index} (${s.kind} over ${s.proto})${s.rejected ? ' rejected' : ''}`);
        if (!s.pair) continue;
        for (const leg of [s.pair.rtp, s.pair.rtcp]) {
          const ep = leg.endpoint ? `${leg.endpoint.address}:${leg.endpoint.port}` : ':0';
          const cnt = leg.isRtcp ? leg.rtcp : leg.rtp;
          out.push(
            `-------- Port ${`${leg.localAddress}:${leg.localPort}`.padStart(21)} <> ${ep.padStart(21)}${leg.isRtcp ? ' (RTCP)' : ''}, ${cnt.packets} p, ${cnt.bytes} b, ${cnt.errors} e, ${Math.floor(leg.lastPacket / 1000)} ts`,
          );
        }
      }
    }
    return `${out.join('\n')}\n\n`;
  }

  private totals(): string {
    const e = this.engine;
    const s = e.stats;
    const t = trafficTotals(e);
    const packets = t.rtpPackets + t.rtcpPackets;
    const bytes = t.rtpBytes + t.rtcpBytes;
    const avg = s.closedCalls ? s.totalDurationMs / s.closedCalls / 1000 : 0;
    return [
      '',
      'Statistics over currently running sessions:',
      '',
      row('Owned sessions', e.calls.size),
      row('Foreign sessions', 0),
      row('Total sessions', e.calls.size),
      row('Transcoded media', 0),
      '',
      'Total statistics (does not include current running sessions):',
      '',
      row('Uptime of rtpengine', `${Math.floor((Date.now() - s.started) / 1000)} seconds`),
      row('Total managed sessions', s.managed),
      row('Total rejected sessions', s.rejected),
      row('Total timed-out sessions via TIMEOUT', s.closedBy.timeout),
      row('Total timed-out sessions via SILENT_TIMEOUT', s.closedBy['silent timeout']),
      row('Total timed-out sessions via FINAL_TIMEOUT', s.closedBy['final timeout']),
      row('Total timed-out sessions via OFFER_TIMEOUT', s.closedBy['offer timeout']),
      row('Total regular terminated sessions', s.closedBy.regular),
      row('Total forced terminated sessions', s.closedBy.forced),
      row('Total relayed packets (userspace)', packets),
      row('Total relayed packet errors (userspace)', t.errors),
      row('Total relayed bytes (userspace)', bytes),
      row('Total relayed packets', packets),
      row('Total relayed packet errors', t.errors),
      row('Total relayed bytes', bytes),
      row('Average call duration', `${avg.toFixed(6)} seconds`),
      '',
    ].join('\n');
  }

  private terminate(what: string | undefined): string {
    const e = this.engine;
    if (what === undefined) return 'Unknown or incomplete command::terminate\n';
    if (what === 'all' || what === 'own') {
      e.shutdown();
      return 'All calls terminated by operator.\n';
    }
    if (what === 'foreign') return 'All foreign calls terminated by operator.\n';
    const call = e.calls.get(what);
    if (!call) return `\nCall Id not found (${what}).\n\n`;
    e.destroy(call, 'forced');
    return `\nCall Id (${what}) successfully terminated by operator.\n\n`;
  }

  private set(what: string | undefined, rest: string[]): string {
    const v = rest[0];
    if (!isTunable(what) || v === undefined)
      return `Unknown or incomplete command::set ${[what, ...rest].filter(Boolean).join(' ')}\n`;
    const t = TUNABLES[what];
    if (!/^-?\d+$/.test(v) || Number(v) < t.min || Number(v) > 1e9)
      return `Fail setting ${what} to ${v}; no digists found\n`;
    this.engine.config[t.key] = Number(v);
    return `Success setting ${what} to ${v}\n`;
  }
}

/** The TCP listener: one command per connection, answer, close. */
export class CliPort {
  private servers: Server[] = [];
  private conns = new Set<Socket>();
  readonly commands: CliCommands;

  constructor(
    private readonly engine: Engine,
    private readonly log: Logger,
  ) {
    this.commands = new CliCommands(engine);
  }

  async listen(host: string, port: number): Promise<void> {
    this.servers.push(await listenControlTcp(host, port, 'cli', this.log, (c) => this.onConnection(c)));
  }

  private onConnection(c: Socket): void {
    if (this.conns.size >= MAX_CONNECTIONS) {
      c.destroy();
      return;
    }
    this.conns.add(c);
    c.on('close', () => this.conns.delete(c));
    c.on('error', () => {});
    c.setTimeout(10_000, () => c.destroy());
    let buf = '';
    let answered = false;
    const answer = (line: string): void => {
      if (answered) return;
      answered = true;
      // Commands may report counters: the kernel's are read in first (reads are shared and bounded).
      const ready = this.engine.refreshCounters?.();
      if (!ready) {
        c.end(this.commands.run(line));
        return;
      }
      void ready.then(() => {
        if (!c.destroyed) c.end(this.commands.run(line));
      });
    };
    c.on('data', (d) => {
      buf += d.toString('utf8');
      const nl = buf.indexOf('\n');
      if (nl >= 0) answer(buf.slice(0, nl));
      else if (buf.length > MAX_LINE) answer('');
    });
    c.on('end', () => answer(buf));
  }

  close(): void {
    for (const s of this.servers) s.close();
    for (const c of this.conns) c.destroy();
  }
}
