/**
 * Prometheus metrics (`GET /metrics`): engine gauges and counters read at scrape time, plus per-command
 * request counters and latency histograms fed by the ng and RTPproxy dispatchers. Command labels come from
 * a fixed list, so a peer sending made-up commands cannot grow the label set.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Engine } from '../engine/engine.js';
import type { NgDispatcher } from './ng-commands.js';
import type { RtppDispatcher } from './rtpproxy-commands.js';

const NG_COMMANDS = new Set([
  'ping',
  'offer',
  'answer',
  'delete',
  'query',
  'list',
  'statistics',
  'start recording',
  'stop recording',
  'pause recording',
  'start forwarding',
  'stop forwarding',
  'block dtmf',
  'unblock dtmf',
  'block media',
  'unblock media',
  'silence media',
  'unsilence media',
  'play media',
  'stop media',
  'play dtmf',
  'publish',
  'subscribe request',
  'subscribe answer',
  'unsubscribe',
  'connect',
  'cli',
]);

/** Relayed traffic over the daemon's life: closed legs (engine stats) plus live legs. */
export function trafficTotals(engine: Engine) {
  const r = engine.stats.relayed;
  const t = {
    rtpPackets: r.rtpPackets,
    rtpBytes: r.rtpBytes,
    rtcpPackets: r.rtcpPackets,
    rtcpBytes: r.rtcpBytes,
    errors: r.errors,
    dropped: r.dropped,
  };
  for (const c of engine.calls.values()) {
    for (const p of c.pairs()) {
      for (const leg of [p.rtp, p.rtcp]) {
        t.rtpPackets += leg.rtp.packets;
        t.rtpBytes += leg.rtp.bytes;
        t.rtcpPackets += leg.rtcp.packets;
        t.rtcpBytes += leg.rtcp.bytes;
        t.errors += leg.rtp.errors + leg.rtcp.errors;
        t.dropped += leg.dropped;
      }
    }
  }
  return t;
}

/** A counter whose value is read from elsewhere at scrape time. */
function mirrored(
  registry: Registry,
  name: string,
  help: string,
  labelNames: string[],
  read: (c: Counter) => void,
): void {
  new Counter({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      read(this);
    },
  });
}

export class Metrics {
  readonly registry = new Registry();
  private readonly ngRequests: Counter;
  private readonly ngLatency: Histogram;

  constructor(
    private readonly engine: Engine,
    ng: NgDispatcher | undefined,
    rtpp: RtppDispatcher | undefined,
  ) {
    const reg = this.registry;
    collectDefaultMetrics({ register: reg, prefix: 'sipmedia_process_' });
    new Gauge({
      name: 'sipmedia_sessions',
      help: 'Calls currently held',
      registers: [reg],
      collect() {
        this.set(engine.calls.size);
      },
    });
    new Gauge({
      name: 'sipmedia_transcoded_media',
      help: 'Media sections whose packets are converted between codecs now',
      registers: [reg],
      collect() {
        this.set(engine.transcodedMedia());
      },
    });
    new Gauge({
      name: 'sipmedia_uptime_seconds',
      help: 'Seconds since the daemon started',
      registers: [reg],
      collect() {
        this.set(Math.floor((Date.now() - engine.stats.started) / 1000));
      },
    });
    mirrored(reg, 'sipmedia_sessions_total', 'Calls created', [], (c) => c.inc(engine.stats.managed));
    mirrored(reg, 'sipmedia_rejected_sessions_total', 'Calls refused by a load limit', [], (c) =>
      c.inc(engine.stats.rejected),
    );
    mirrored(reg, 'sipmedia_closed_sessions_total', 'Calls closed, by reason', ['reason'], (c) => {
      for (const [reason, n] of Object.entries(engine.stats.closedBy)) c.inc({ reason }, n);
    });
    mirrored(reg, 'sipmedia_packets_total', 'Packets received on media ports', ['type'], (c) => {
      const t = trafficTotals(engine);
      c.inc({ type: 'rtp' }, t.rtpPackets);
      c.inc({ type: 'rtcp' }, t.rtcpPackets);
    });
    mirrored(reg, 'sipmedia_bytes_total', 'Bytes received on media ports', ['type'], (c) => {
      const t = trafficTotals(engine);
      c.inc({ type: 'rtp' }, t.rtpBytes);
      c.inc({ type: 'rtcp' }, t.rtcpBytes);
    });
    mirrored(reg, 'sipmedia_packet_errors_total', 'Malformed media packets', [], (c) =>
      c.inc(trafficTotals(engine).errors),
    );
    mirrored(reg, 'sipmedia_dropped_packets_total', 'Media packets not forwarded', [], (c) =>
      c.inc(trafficTotals(engine).dropped),
    );
    this.ngRequests = new Counter({
      name: 'sipmedia_ng_requests_total',
      help: 'ng requests, by command and result',
      labelNames: ['command', 'result'],
      registers: [reg],
    });
    this.ngLatency = new Histogram({
      name: 'sipmedia_ng_request_duration_seconds',
      help: 'ng request handling time, by command',
      labelNames: ['command'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [reg],
    });
    mirrored(reg, 'sipmedia_ng_errors_total', 'ng requests answered with result: error', [], (c) =>
      c.inc(ng?.errors ?? 0),
    );
    ng?.observers.push((command, seconds, ok) => this.observeNg(command, seconds, ok));
    if (rtpp) {
      mirrored(
        reg,
        'sipmedia_rtpproxy_requests_total',
        'RTPproxy commands, by command letter',
        ['command'],
        (c) => {
          for (const [command, n] of Object.entries(rtpp.perCommand)) c.inc({ command }, n);
        },
      );
      mirrored(reg, 'sipmedia_rtpproxy_errors_total', 'RTPproxy commands answered with an E code', [], (c) =>
        c.inc(rtpp.counters.ncmds_errs),
      );
    }
  }

  observeNg(command: string, seconds: number, ok: boolean): void {
    const label = NG_COMMANDS.has(command) ? command : 'other';
    this.ngRequests.inc({ command: label, result: ok ? 'ok' : 'error' });
    this.ngLatency.observe({ command: label }, seconds);
  }

  async text(): Promise<string> {
    await this.engine.refreshCounters?.();
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
