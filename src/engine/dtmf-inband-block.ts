/**
 * `block DTMF` for keys pressed in-band: while the party's audio carries a key (media/dtmf-tones), each frame's
 * payload is rewritten in place with what `DTMF-security` makes of a blocked key: silence (`drop`, `silence`),
 * the sine of `tone`, or the tones of the replacement key (`zero`, `DTMF`, `random`). The first frame of a key
 * passes (one frame is not yet a key): 20 ms of tone, under the 40 ms a receiver needs to take it for a key.
 * The stream keeps its packets, sequence numbers and timing.
 */
import { InbandKeyReader } from '../media/dtmf-tones.js';
import { G722Encoder } from '../media/g722.js';
import { rtpPayloadEnd, rtpPayloadOffset } from '../wire/rtp.js';
import {
  type DtmfSecurityOptions,
  encodeAudio,
  replacementAudio,
  replacementKey,
  synthesisable,
} from './dtmf-security.js';

export class InbandKeyMasker {
  private readonly reader = new InbandKeyReader();
  private encoder: G722Encoder | undefined;
  private key = 0;
  private offset = 0;
  /** Frames rewritten. */
  masked = 0;

  constructor(public opts: DtmfSecurityOptions) {}

  /** Reads audio packet `msg` (payload type `pt`) and rewrites its payload if a key is held; true if it did. */
  mask(msg: Buffer, pt: number): boolean {
    if (!synthesisable(pt)) return false;
    const off = rtpPayloadOffset(msg);
    const end = off < 0 ? -1 : rtpPayloadEnd(msg, off);
    if (end <= off) return false;
    const bytes = msg.subarray(off, end);
    const state = this.reader.read(pt, bytes);
    if (state.kind !== 'key') return false;
    if (state.first) {
      this.key = replacementKey(this.opts, state.event);
      this.offset = 0;
    }
    const pcm = replacementAudio(this.opts, this.key, bytes.length, this.offset);
    this.offset += bytes.length;
    if (pt === 9) this.encoder ??= new G722Encoder();
    encodeAudio(pt, pcm, bytes, this.encoder);
    this.masked++;
    return true;
  }
}
