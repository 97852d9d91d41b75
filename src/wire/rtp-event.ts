/**
 * RFC 4733 telephone-event payload (section 2.3):
 *
 *  0                   1                   2                   3
 * |     event     |E|R| volume    |          duration             |
 *
 * Volume is the power level in -dBm0 (0-63); duration is in timestamp units since the event began.
 */

/** Malformed telephone-event payload. */
export class RtpEventError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RtpEventError';
  }
}

export const RTP_EVENT_SIZE = 4;

export interface RtpEvent {
  /** 0-9 digits, 10 = '*', 11 = '#', 12-15 = A-D (RFC 4733 table 7), other codes allowed. */
  event: number;
  end: boolean;
  /** 0-63, attenuation in dB below 0 dBm0. */
  volume: number;
  /** 0-65535 timestamp units. */
  duration: number;
}

/**
 * Parse one event block. A payload may carry several blocks (RFC 4733 section 2.5.1.5, redundancy via
 * RFC 2198 is not handled here); only the first 4 bytes are read.
 */
export function parseRtpEvent(payload: Uint8Array): RtpEvent {
  if (payload.length < RTP_EVENT_SIZE)
    throw new RtpEventError(`telephone-event too short: ${payload.length}`);
  const b1 = payload[1]!;
  return {
    event: payload[0]!,
    end: (b1 & 0x80) !== 0,
    volume: b1 & 0x3f,
    duration: (payload[2]! << 8) | payload[3]!,
  };
}

/** Serialize an event block (the R bit is always 0, as RFC 4733 requires of senders). */
export function serializeRtpEvent(e: RtpEvent): Buffer {
  if (!Number.isInteger(e.event) || e.event < 0 || e.event > 255)
    throw new RtpEventError('event out of range');
  if (!Number.isInteger(e.volume) || e.volume < 0 || e.volume > 63)
    throw new RtpEventError('volume out of range');
  if (!Number.isInteger(e.duration) || e.duration < 0 || e.duration > 0xffff) {
    throw new RtpEventError('duration out of range');
  }
  const buf = Buffer.alloc(RTP_EVENT_SIZE);
  buf[0] = e.event;
  buf[1] = (e.end ? 0x80 : 0) | e.volume;
  buf.writeUInt16BE(e.duration, 2);
  return buf;
}

const DIGITS = '0123456789*#ABCD';

/** RFC 4733 event code of a DTMF character (0-9 * # A-D, case-insensitive), or undefined. */
export function dtmfCharToEvent(ch: string): number | undefined {
  if (ch.length !== 1) return undefined;
  const i = DIGITS.indexOf(ch.toUpperCase());
  return i < 0 ? undefined : i;
}

/** DTMF character of an event code 0-15, or undefined for other events. */
export function dtmfEventToChar(event: number): string | undefined {
  return event >= 0 && event < 16 ? DIGITS[event] : undefined;
}
