/**
 * `block DTMF` with `DTMF-security`: what a blocked RFC 4733 event becomes instead of simply disappearing.
 *
 * - `drop` (the default): the event packets are dropped.
 * - `zero`, `DTMF` (a digit of the caller's choice), `random` (another digit, the same for all packets of one
 *   event): the event packets pass with their event code replaced, so the far end still gets a key press,
 *   just not the one pressed (against leaking PINs while keeping an IVR moving).
 * - `silence`, `tone`: each event packet becomes an audio packet of the stream's own codec (PCMU, PCMA or G.722)
 *   carrying silence or a sine, covering the time the event packet added (its duration minus what earlier
 *   packets of the event covered), at the event's timestamp plus that earlier duration; the end packet's
 *   retransmissions add nothing and are dropped. The stream keeps its SSRC and sequence numbers.
 *
 * An event is one RTP timestamp (RFC 4733: all packets of an event carry its start time).
 */
import { randomInt } from 'node:crypto';
import { dtmfToneSamples } from '../media/dtmf-tones.js';
import { ALAW_ENCODE, ULAW_ENCODE } from '../media/g711.js';
import { G722Encoder } from '../media/g722.js';
import { RTP_EVENT_SIZE, parseRtpEvent } from '../wire/rtp-event.js';

export type DtmfSecurity = 'drop' | 'silence' | 'tone' | 'random' | 'zero' | 'DTMF';

export interface DtmfSecurityOptions {
  mode: DtmfSecurity;
  /** `DTMF` mode: the event code sent instead (0-15). */
  digit?: number;
  /** `tone` mode: frequency in Hz and level in dBFS (negative). */
  frequency?: number;
  volumeDb?: number;
  /**
   * `tone` mode only: play the pressed key's own DTMF tones at the event's volume instead (RFC 4733 events
   * made in-band DTMF, for a receiver without telephone-event; not a `DTMF-security` value).
   */
  keyTones?: boolean;
}

export const DEFAULT_TONE_HZ = 400;
export const DEFAULT_TONE_DB = -15;
/** Longest audio one event packet may become (samples at 8 kHz: 200 ms); more is left as a gap. */
const MAX_SAMPLES = 1600;

/** Payload types of the codecs audio can be made in: 0 PCMU, 8 PCMA, 9 G.722 (all 8000 on the RTP clock). */
export function synthesisable(pt: number | undefined): pt is 0 | 8 | 9 {
  return pt === 0 || pt === 8 || pt === 9;
}

/** Maps a `DTMF-security` value (any case) to a mode; undefined for `off` and unknown values. */
export function parseDtmfSecurity(v: string): DtmfSecurity | 'off' | undefined {
  const m = v.trim().toLowerCase();
  if (m === 'dtmf') return 'DTMF';
  return (['drop', 'silence', 'tone', 'random', 'zero', 'off'] as const).find((x) => x === m);
}

export class DtmfReplacer {
  private eventTs = -1;
  /** Timestamp units of the current event already covered (silence/tone) and its replacement code. */
  private covered = 0;
  private code = 0;
  private pressed = 0;
  private volume = 10;
  private g722: G722Encoder | undefined;

  constructor(readonly opts: DtmfSecurityOptions) {}

  /**
   * One blocked event packet (`msg`, payload at [off, end)): 'drop', 'keep' (its event code was rewritten
   * in place), or the audio packet to send instead, in payload type `audioPt` (see {@link synthesisable};
   * without one the packet is dropped).
   */
  replace(msg: Buffer, off: number, end: number, audioPt: number | undefined): 'drop' | 'keep' | Buffer {
    const mode = this.opts.mode;
    if (mode === 'drop' || end - off < RTP_EVENT_SIZE) return 'drop';
    const ev = parseRtpEvent(msg.subarray(off, end));
    const ts = msg.readUInt32BE(4);
    const fresh = ts !== this.eventTs;
    if (fresh) {
      this.eventTs = ts;
      this.covered = 0;
      this.g722 = undefined;
      this.pressed = ev.event;
      this.volume = ev.volume;
      this.code = replacementKey(this.opts, ev.event);
    }
    if (mode === 'zero' || mode === 'DTMF' || mode === 'random') {
      msg[off] = this.code; // the event code, the payload's first byte
      return 'keep';
    }
    if (!synthesisable(audioPt)) return 'drop';
    const samples = ev.duration - this.covered;
    if (samples <= 0) return 'drop';
    const start = this.covered;
    this.covered = ev.duration;
    return this.audio(msg, audioPt, ts + start, start, Math.min(samples, MAX_SAMPLES));
  }

  private audio(msg: Buffer, pt: 0 | 8 | 9, ts: number, offset: number, n: number): Buffer {
    const out = Buffer.alloc(12 + n);
    out[0] = 0x80;
    out[1] = pt;
    msg.copy(out, 2, 2, 4); // sequence number
    out.writeUInt32BE(ts >>> 0, 4);
    msg.copy(out, 8, 8, 12); // SSRC
    const pcm = this.opts.keyTones
      ? (dtmfToneSamples(this.pressed, n, offset, this.volume) ?? new Int16Array(n))
      : replacementAudio(this.opts, this.code, n, offset);
    if (pt === 9) this.g722 ??= new G722Encoder();
    encodeAudio(pt, pcm, out.subarray(12), this.g722);
    return out;
  }
}

/** The key sent instead of `pressed` by `zero`, `DTMF` and `random` (another key of the phone pad). */
export function replacementKey(opts: DtmfSecurityOptions, pressed: number): number {
  if (opts.mode === 'zero') return 0;
  if (opts.mode === 'DTMF') return opts.digit ?? 0;
  // Another of the twelve keys of a phone pad (0-9, *, #).
  const other = randomInt(11);
  return other >= pressed ? other + 1 : other;
}

/**
 * `n` samples of what a blocked key sounds like, `offset` samples into it: the sine of `tone`, the tones of
 * `key` for `zero`/`DTMF`/`random` (in-band keys only: events keep their packets), silence otherwise.
 */
export function replacementAudio(
  opts: DtmfSecurityOptions,
  key: number,
  n: number,
  offset: number,
): Int16Array {
  const pcm = new Int16Array(n);
  if (opts.mode === 'tone') {
    const amp = 32767 * 10 ** ((opts.volumeDb ?? DEFAULT_TONE_DB) / 20);
    const w = (2 * Math.PI * (opts.frequency ?? DEFAULT_TONE_HZ)) / 8000;
    for (let i = 0; i < n; i++) pcm[i] = Math.round(amp * Math.sin(w * (offset + i)));
    return pcm;
  }
  if (opts.mode === 'zero' || opts.mode === 'DTMF' || opts.mode === 'random')
    return dtmfToneSamples(key, n, offset) ?? pcm;
  return pcm;
}

/** Encodes 8 kHz samples into `out` (one byte per sample) in PCMU, PCMA or G.722 (with its encoder's state). */
export function encodeAudio(pt: 0 | 8 | 9, pcm: Int16Array, out: Uint8Array, g722?: G722Encoder): void {
  if (pt === 9) {
    (g722 ?? new G722Encoder()).encode(pcm, out);
    return;
  }
  const table = pt === 0 ? ULAW_ENCODE : ALAW_ENCODE;
  for (let i = 0; i < pcm.length; i++) out[i] = table[pcm[i]! & 0xffff]!;
}
