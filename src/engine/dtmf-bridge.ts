/**
 * `codec: { transcode: ['telephone-event'] }` (flags `codec-transcode-telephone-event`,
 * `transcode-telephone-event`): DTMF between a party that only knows in-band tones and one that sends RFC 4733
 * events. An offer without telephone-event gains it (the lowest free dynamic payload type, `0-15`, before CN
 * if any, as rtpengine adds it); if the answerer accepts it, the offerer is answered without it (it never
 * offered it) and the streams are bridged: the answerer's events reach the offerer as the key's tones in its
 * audio codec, and keys the offerer presses in-band reach the answerer as events in place of the tone audio.
 * Audio is made and read in PCMU, PCMA or G.722 (lower band); an offer without one of those gains nothing.
 */
import { InbandKeyReader } from '../media/dtmf-tones.js';
import { rtpPayloadEnd, rtpPayloadOffset } from '../wire/rtp.js';
import { RTP_EVENT_SIZE, serializeRtpEvent } from '../wire/rtp-event.js';
import type { SdpMedia } from '../wire/sdp.js';
import { codecOf, matches } from './codec-filter.js';
import { synthesisable } from './dtmf-security.js';

/** Whether a `transcode` target names telephone-event (any case, with or without `/8000`). */
export function isEventsTarget(t: string): boolean {
  return matches(t, 'telephone-event', 8000);
}

/** The 8 kHz telephone-event payload type of a section among `formats`, if any. */
export function eventsPayloadType(m: SdpMedia, formats: number[]): number | undefined {
  return formats.find((pt) => {
    const c = codecOf(m, pt);
    return c !== undefined && c.encoding.toLowerCase() === 'telephone-event' && c.clockRate === 8000;
  });
}

/**
 * The payload type telephone-event is added with to an offer, or undefined. `sent`: the formats the offer
 * goes on with (after codec filtering, with transcoding's additions).
 */
export function planEventsOffer(
  m: SdpMedia,
  targets: readonly string[],
  sent: number[],
  warnings: string[],
): number | undefined {
  if (!targets.some(isEventsTarget) || m.kind !== 'audio' || !m.proto.toUpperCase().includes('RTP'))
    return undefined;
  if (eventsPayloadType(m, sent) !== undefined) return undefined;
  if (!sent.some((pt) => synthesisable(pt))) {
    warnings.push('telephone-event transcoding needs PCMU, PCMA or G722 in the offer: not added');
    return undefined;
  }
  const used = new Set([...m.formats.map(Number), ...m.rtpmaps().keys(), ...sent]);
  for (let pt = 96; pt < 128; pt++) if (!used.has(pt)) return pt;
  warnings.push('no free dynamic payload type for telephone-event: not added');
  return undefined;
}

/** Adds telephone-event as payload type `pt` to an outgoing media section, before CN as rtpengine does. */
export function addEventsFormat(m: SdpMedia, pt: number): void {
  const formats = m.formats;
  const cn = formats.findIndex((f) => codecOf(m, Number(f))?.encoding.toUpperCase() === 'CN');
  formats.splice(cn < 0 ? formats.length : cn, 0, String(pt));
  m.formats = formats;
  m.lines.push(
    { type: 'a', value: `rtpmap:${pt} telephone-event/8000` },
    { type: 'a', value: `fmtp:${pt} 0-15` },
  );
}

/** End packets sent after a key's tones stop: the first and two retransmissions (RFC 4733 2.5.1.4). */
const END_PACKETS = 3;
/** Level the events report (-dBm0): a typical keypad's. */
const EVENT_VOLUME = 10;

/**
 * The offerer's side of the bridge: reads its audio for keys and, while one is held, sends an event packet
 * in place of each audio packet (same sequence number and SSRC, the event's start as timestamp, marker on
 * the first); when the tones stop, the end packet takes the place of that audio packet and the next two.
 */
export class InbandEvents {
  private readonly reader = new InbandKeyReader();
  private eventTs = 0;
  private event = 0;
  private endsLeft = 0;
  private endDuration = 0;

  /** The event packet to send instead of audio packet `msg` (payload type `pt`), or undefined to pass it. */
  packet(msg: Buffer, pt: number, eventPt: number): Buffer | undefined {
    if (!synthesisable(pt)) return undefined;
    const off = rtpPayloadOffset(msg);
    const end = off < 0 ? -1 : rtpPayloadEnd(msg, off);
    if (end <= off) return undefined;
    const bytes = msg.subarray(off, end);
    const ts = msg.readUInt32BE(4);
    const state = this.reader.read(pt, bytes);
    if (state.kind === 'key') {
      if (state.first) {
        this.eventTs = ts;
        this.event = state.event;
        this.endsLeft = 0;
      }
      // One byte per sample at 8 kHz for all three codecs (G.722's lower band).
      return this.build(msg, eventPt, state.first, false, ts + bytes.length - this.eventTs);
    }
    if (state.kind === 'end') {
      this.endDuration = ts - this.eventTs;
      this.endsLeft = END_PACKETS - 1;
      return this.build(msg, eventPt, false, true, this.endDuration);
    }
    if (this.endsLeft > 0) {
      this.endsLeft--;
      return this.build(msg, eventPt, false, true, this.endDuration);
    }
    return undefined;
  }

  private build(msg: Buffer, pt: number, marker: boolean, end: boolean, duration: number): Buffer {
    const out = Buffer.alloc(12 + RTP_EVENT_SIZE);
    out[0] = 0x80;
    out[1] = (marker ? 0x80 : 0) | pt;
    msg.copy(out, 2, 2, 4); // sequence number
    out.writeUInt32BE(this.eventTs >>> 0, 4);
    msg.copy(out, 8, 8, 12); // SSRC
    serializeRtpEvent({
      event: this.event,
      end,
      volume: EVENT_VOLUME,
      duration: Math.max(0, Math.min(0xffff, duration >>> 0)),
    }).copy(out, 12);
    return out;
  }
}
