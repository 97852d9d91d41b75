/**
 * RFC 4733 DTMF: generating the packet sequence of `play DTMF`, and detecting digits in received
 * telephone-event payloads.
 *
 * Generation (RFC 4733 section 2.5.1): all packets of one event carry the event's start timestamp; the
 * first has the marker bit; each following one is sent a packet interval later with the duration grown by
 * one interval; the end is signalled by three packets with the E bit and the final duration (the first
 * plus two retransmissions, section 2.5.1.4), sent at the normal interval.
 */
import {
  dtmfCharToEvent,
  dtmfEventToChar,
  parseRtpEvent,
  RtpEventError,
  serializeRtpEvent,
} from '../wire/rtp-event.js';
import { tsDiff } from '../wire/rtp.js';

/** Unusable `play DTMF` parameters. */
export class DtmfError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DtmfError';
  }
}

export interface DtmfPlayOptions {
  /**
   * Digits as characters (0-9 * # A-D) or event codes 0-15. A string plays each character in turn ("10"
   * is 1 then 0); pass the number 10 for '*'. Array items are single characters or codes.
   */
  code: string | number | readonly (string | number)[];
  /** Event duration in ms (default 100; clamped to 20..8000, the 16-bit duration limit at 8 kHz). */
  durationMs?: number;
  /** Power level in dBm0: 10 and -10 both mean -10 dBm0 (default 10; clamped to 0..63). */
  volume?: number;
  /** Silence between events in ms (default 100). */
  pauseMs?: number;
  ptimeMs?: number;
  clockRate?: number;
}

/** One packet of a generated sequence. */
export interface DtmfPacket {
  /** When to send, in ms from the start of the sequence. */
  atMs: number;
  /** Timestamp offset from the sequence's base (the event's start). */
  tsOffset: number;
  /** Media time the packet covers from its timestamp (its duration field). */
  durationSamples: number;
  marker: boolean;
  event: number;
  end: boolean;
  /** The 4-byte telephone-event payload. */
  payload: Buffer;
}

export interface DtmfSequence {
  packets: DtmfPacket[];
  /** Total time from the first packet to the end of the last event plus its pause, in ms. */
  totalMs: number;
}

const END_PACKETS = 3;

function toEvents(code: DtmfPlayOptions['code']): number[] {
  const items = typeof code === 'string' ? [...code] : typeof code === 'number' ? [code] : [...code];
  if (items.length === 0) throw new DtmfError('no DTMF code');
  if (items.length > 64) throw new DtmfError('too many DTMF digits (at most 64)');
  return items.map((c) => {
    const ev = typeof c === 'number' ? c : dtmfCharToEvent(c);
    if (ev === undefined || !Number.isInteger(ev) || ev < 0 || ev > 15) {
      throw new DtmfError(`invalid DTMF code ${JSON.stringify(c)}`);
    }
    return ev;
  });
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}

/** The exact packet sequence for `play DTMF`. */
export function generateDtmf(options: DtmfPlayOptions): DtmfSequence {
  const events = toEvents(options.code);
  const ptimeMs = options.ptimeMs ?? 20;
  const rate = options.clockRate ?? 8000;
  if (!Number.isInteger(ptimeMs) || ptimeMs <= 0) throw new DtmfError(`bad ptime ${ptimeMs}`);
  const frame = Math.round((rate * ptimeMs) / 1000);
  const durationMs = clamp(
    Math.round(options.durationMs ?? 100),
    ptimeMs,
    Math.floor((0xffff * 1000) / rate),
  );
  const duration = Math.round((durationMs * rate) / 1000);
  const volume = clamp(Math.round(Math.abs(options.volume ?? 10)), 0, 63);
  const pauseMs = clamp(Math.round(options.pauseMs ?? 100), 0, 60_000);

  const packets: DtmfPacket[] = [];
  let startMs = 0;
  for (const event of events) {
    const tsOffset = Math.round((startMs * rate) / 1000);
    let i = 0;
    // Progress packets: durations one frame, two frames, ... while short of the full duration.
    for (let d = frame; d < duration; d += frame, i++) {
      packets.push(mk(startMs + i * ptimeMs, tsOffset, d, i === 0, event, false, volume));
    }
    for (let k = 0; k < END_PACKETS; k++, i++) {
      packets.push(mk(startMs + i * ptimeMs, tsOffset, duration, i === 0, event, true, volume));
    }
    // The next event starts after this one's duration and pause, and never before its end packets are out.
    startMs = Math.max(startMs + durationMs + pauseMs, startMs + i * ptimeMs);
  }
  return { packets, totalMs: startMs };
}

function mk(
  atMs: number,
  tsOffset: number,
  duration: number,
  marker: boolean,
  event: number,
  end: boolean,
  volume: number,
): DtmfPacket {
  return {
    atMs,
    tsOffset,
    durationSamples: duration,
    marker,
    event,
    end,
    payload: serializeRtpEvent({ event, end, volume, duration }),
  };
}

/** A digit seen by {@link DtmfDetector}. */
export interface DetectedDigit {
  event: number;
  /** '0'-'9', '*', '#', 'A'-'D', or undefined for non-DTMF events (16 and up). */
  digit: string | undefined;
  /** Timestamp of the event start (the packets' RTP timestamp). */
  timestamp: number;
  durationSamples: number;
  durationMs: number;
  volume: number;
  /** False when the end packets were never seen (reported on a new event or on flush). */
  ended: boolean;
}

/** How many recently reported event timestamps are remembered to drop retransmitted end packets. */
const RECENT = 16;

/**
 * Reports each RFC 4733 event once: at its first end packet, or when a new event starts (or `flush` is
 * called) without the end having been seen. Retransmitted and reordered packets of a reported event are
 * ignored. Feed it the payloads of the telephone-event payload type only.
 */
export class DtmfDetector {
  private readonly clockRate: number;
  private current: { ts: number; event: number; duration: number; volume: number; ssrc: number } | undefined;
  private readonly reported: number[] = [];

  constructor(options: { clockRate?: number } = {}) {
    this.clockRate = options.clockRate ?? 8000;
  }

  /**
   * Consume one telephone-event payload with its RTP timestamp and SSRC. Returns the digits completed by
   * it (usually none or one). Malformed payloads are ignored (returns []).
   */
  push(payload: Uint8Array, timestamp: number, ssrc = 0): DetectedDigit[] {
    let ev: ReturnType<typeof parseRtpEvent>;
    try {
      ev = parseRtpEvent(payload);
    } catch (e) {
      if (e instanceof RtpEventError) return [];
      throw e;
    }
    const out: DetectedDigit[] = [];
    const ts = timestamp >>> 0;
    if (this.reported.includes(ts)) return out; // retransmitted end, or a late packet of a reported event
    const cur = this.current;
    if (cur && (cur.ts !== ts || cur.ssrc !== ssrc)) {
      // A packet of an older event arriving late must not cut the current one short.
      if (cur.ssrc === ssrc && tsDiff(ts, cur.ts) < 0) return out;
      out.push(this.report(false));
    }
    if (this.current === undefined) {
      this.current = { ts, event: ev.event, duration: ev.duration, volume: ev.volume, ssrc };
    } else {
      // Durations only grow within an event: the largest seen is the latest, whatever the arrival order.
      this.current.duration = Math.max(this.current.duration, ev.duration);
    }
    if (ev.end) {
      this.current.duration = ev.duration;
      out.push(this.report(true));
    }
    return out;
  }

  /** Report an event still in progress (call when its packets stopped coming). */
  flush(): DetectedDigit[] {
    return this.current ? [this.report(false)] : [];
  }

  private report(ended: boolean): DetectedDigit {
    const c = this.current!;
    this.current = undefined;
    this.reported.push(c.ts);
    if (this.reported.length > RECENT) this.reported.shift();
    return {
      event: c.event,
      digit: dtmfEventToChar(c.event),
      timestamp: c.ts,
      durationSamples: c.duration,
      durationMs: Math.round((c.duration * 1000) / this.clockRate),
      volume: c.volume,
      ended,
    };
  }
}
