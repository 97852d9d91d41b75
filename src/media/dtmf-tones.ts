/**
 * In-band DTMF: the dual tones of the keypad (ITU-T Q.23) made into audio and found in audio.
 *
 * Synthesis gives each key its row and column frequency at a level in dBm0 (RFC 4733's `volume`, the
 * attenuation below 0 dBm0). Detection (Q.24's criteria, simplified) looks at one block of at least 160
 * samples (20 ms at 8 kHz) with the Goertzel filter at the eight frequencies: the strongest row and the
 * strongest column must each stand 6 dB above the rest of their group, the two may differ by at most 8 dB
 * (twist), each must be above about -36 dBm0, and together they must carry most of the block's energy (speech
 * and music spread theirs). A key counts once two blocks in a row agree (40 ms, well under Q.24's shortest
 * valid tone of 40 ms plus pause), and ends at the first block that does not.
 */
import { ALAW_DECODE, ULAW_DECODE } from './g711.js';
import { G722Decoder } from './g722.js';
import { goertzelPower } from './goertzel.js';

export const DTMF_ROWS = [697, 770, 852, 941] as const;
export const DTMF_COLUMNS = [1209, 1336, 1477, 1633] as const;
/** Keys by RFC 4733 event code: 0-9, * (10), # (11), A-D (12-15), as [row, column] indexes. */
const KEYS: readonly (readonly [number, number])[] = [
  [3, 1], // 0
  [0, 0], // 1
  [0, 1], // 2
  [0, 2], // 3
  [1, 0], // 4
  [1, 1], // 5
  [1, 2], // 6
  [2, 0], // 7
  [2, 1], // 8
  [2, 2], // 9
  [3, 0], // *
  [3, 2], // #
  [0, 3], // A
  [1, 3], // B
  [2, 3], // C
  [3, 3], // D
];

/** The two frequencies of an event code 0-15, undefined for others. */
export function dtmfFrequencies(event: number): [number, number] | undefined {
  const k = KEYS[event];
  return k ? [DTMF_ROWS[k[0]]!, DTMF_COLUMNS[k[1]]!] : undefined;
}

/** Peak of a 0 dBm0 sine in 16-bit linear samples (G.711: +3.17 dBm0 is full scale). */
const DBM0_PEAK = 32767 / 10 ** (3.17 / 20);

/**
 * `n` samples of key `event` starting `offset` samples into the tone, each frequency at -`volume` dBm0.
 * Undefined for event codes without a key.
 */
export function dtmfToneSamples(
  event: number,
  n: number,
  offset = 0,
  volume = 10,
  sampleRate = 8000,
): Int16Array | undefined {
  const f = dtmfFrequencies(event);
  if (!f) return undefined;
  const amp = DBM0_PEAK * 10 ** (-Math.min(63, Math.max(0, volume)) / 20);
  const w1 = (2 * Math.PI * f[0]) / sampleRate;
  const w2 = (2 * Math.PI * f[1]) / sampleRate;
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) {
    const t = offset + i;
    out[i] = Math.max(-32768, Math.min(32767, Math.round(amp * (Math.sin(w1 * t) + Math.sin(w2 * t)))));
  }
  return out;
}

/** Shortest block a decision is made on (samples): 20 ms at 8 kHz resolves the rows, 73 Hz apart. */
export const DETECT_BLOCK = 160;
const GROUP_MARGIN = 4; // 6 dB over the second of the group
const MAX_TWIST = 6.3; // 8 dB
const TONE_SHARE = 0.6; // of the block's energy in the two tones
/** Goertzel power (this module's normalisation: n * A^2 / 4) of a sine of peak `A` at -36 dBm0, per sample. */
const MIN_AMP = DBM0_PEAK * 10 ** (-36 / 20);

/** The key (event code 0-15) whose tones fill `pcm`, or undefined. Needs at least {@link DETECT_BLOCK} samples. */
export function dtmfKeyIn(pcm: Int16Array, sampleRate = 8000): number | undefined {
  const n = pcm.length;
  if (n < DETECT_BLOCK) return undefined;
  let energy = 0;
  for (let i = 0; i < n; i++) energy += pcm[i]! * pcm[i]!;
  if (energy === 0) return undefined;
  const best = (freqs: readonly number[]): [number, number, number] => {
    const p = freqs.map((f) => goertzelPower(pcm, f, sampleRate));
    let i = 0;
    for (let j = 1; j < p.length; j++) if (p[j]! > p[i]!) i = j;
    const second = Math.max(0, ...p.filter((_, j) => j !== i));
    return [i, p[i]!, second];
  };
  const [r, pr, r2] = best(DTMF_ROWS);
  const [c, pc, c2] = best(DTMF_COLUMNS);
  const floor = (n * MIN_AMP * MIN_AMP) / 4;
  if (pr < floor || pc < floor) return undefined;
  if (pr < GROUP_MARGIN * r2 || pc < GROUP_MARGIN * c2) return undefined;
  if (pr > MAX_TWIST * pc || pc > MAX_TWIST * pr) return undefined;
  // A sine of peak A has energy n * A^2 / 2 and Goertzel power n * A^2 / 4.
  if ((2 * (pr + pc)) / energy < TONE_SHARE) return undefined;
  return KEYS.findIndex(([kr, kc]) => kr === r && kc === c);
}

/** What {@link InbandDtmfDetector.push} saw in one piece of audio. */
export type InbandState =
  | { kind: 'none' }
  /** A key is held: `first` on the block that confirmed it. */
  | { kind: 'key'; event: number; first: boolean }
  /** The key held until now has ended. */
  | { kind: 'end'; event: number };

/**
 * Follows one stream's audio and tells, per pushed frame, whether a key is being held. Frames shorter than
 * {@link DETECT_BLOCK} are judged on the latest block of that many samples (earlier frames filling it up).
 */
export class InbandDtmfDetector {
  private readonly window = new Int16Array(DETECT_BLOCK);
  private filled = 0;
  private candidate: number | undefined;
  private held: number | undefined;

  constructor(private readonly sampleRate = 8000) {}

  /** The key being held now, if any. */
  get key(): number | undefined {
    return this.held;
  }

  push(pcm: Int16Array): InbandState {
    let block: Int16Array;
    if (pcm.length >= DETECT_BLOCK) {
      block = pcm;
      this.window.set(pcm.subarray(pcm.length - DETECT_BLOCK));
      this.filled = DETECT_BLOCK;
    } else {
      this.window.copyWithin(0, pcm.length);
      this.window.set(pcm, DETECT_BLOCK - pcm.length);
      this.filled = Math.min(DETECT_BLOCK, this.filled + pcm.length);
      if (this.filled < DETECT_BLOCK) return { kind: 'none' };
      block = this.window;
    }
    const k = dtmfKeyIn(block, this.sampleRate);
    if (this.held !== undefined) {
      if (k === this.held) return { kind: 'key', event: k, first: false };
      this.candidate = k;
      return this.stop();
    }
    if (k !== undefined && k === this.candidate) {
      this.held = k;
      this.candidate = undefined;
      return { kind: 'key', event: k, first: true };
    }
    this.candidate = k;
    return { kind: 'none' };
  }

  private stop(): InbandState {
    const event = this.held!;
    this.held = undefined;
    return { kind: 'end', event };
  }
}

/** An {@link InbandDtmfDetector} fed with encoded audio: PCMU (0), PCMA (8) or G.722 (9, its lower band). */
export class InbandKeyReader {
  private readonly detector = new InbandDtmfDetector();
  private g722: G722Decoder | undefined;

  /** One frame of payload type `pt` (every frame of the stream, in order: G.722 decoding has state). */
  read(pt: 0 | 8 | 9, bytes: Uint8Array): InbandState {
    let pcm: Int16Array;
    if (pt === 9) {
      this.g722 ??= new G722Decoder();
      pcm = this.g722.decode(bytes);
    } else {
      const table = pt === 0 ? ULAW_DECODE : ALAW_DECODE;
      pcm = new Int16Array(bytes.length);
      for (let i = 0; i < bytes.length; i++) pcm[i] = table[bytes[i]!]!;
    }
    return this.detector.push(pcm);
  }
}
