/**
 * Payload conversion between the 8 kHz telephony codecs we transcode: PCMU, PCMA and G.722 (its lower band,
 * see g722.ts). All three carry one byte per 8 kHz sample, so a payload converts in place, byte count and
 * RTP timestamps unchanged. Between the G.711 laws a 256-byte table does it (and a dataplane can apply the
 * table itself); G.722 keeps ADPCM state, so each direction of a stream gets its own converter.
 */
import { G722Decoder, G722Encoder } from './g722.js';
import { ALAW_TO_ULAW, g711Decode, g711Encode, ULAW_TO_ALAW } from './g711.js';

export type NarrowbandCodec = 'PCMU' | 'PCMA' | 'G722';

/** Static RTP payload types (RFC 3551). */
export const NARROWBAND_PT: Readonly<Record<NarrowbandCodec, number>> = { PCMU: 0, PCMA: 8, G722: 9 };

/**
 * The codec an rtpmap's encoding and clock rate name, if it is one of these three. G.722's RTP clock is 8000
 * (RFC 3551); some endpoints write 16000, its sampling rate, which is taken as G.722 too.
 */
export function narrowbandCodec(encoding: string, clockRate: number): NarrowbandCodec | undefined {
  const name = encoding.toUpperCase();
  if (name === 'G722') return clockRate === 8000 || clockRate === 16000 ? 'G722' : undefined;
  return clockRate === 8000 && (name === 'PCMU' || name === 'PCMA') ? name : undefined;
}

export interface PayloadConverter {
  /** Byte table, when the conversion is one (G.711 to G.711). */
  table: Uint8Array | undefined;
  /** G.722 to or from a G.711 law (`encode`: to G.722), for a dataplane that converts G.722 itself. */
  g722: { encode: boolean; law: 'PCMU' | 'PCMA' } | undefined;
  /** Converts one payload in place, in stream order. */
  convert(payload: Uint8Array): void;
}

/** A converter for one direction of one stream; undefined for a codec to itself. */
export function payloadConverter(from: NarrowbandCodec, to: NarrowbandCodec): PayloadConverter | undefined {
  if (from === to) return undefined;
  if (from !== 'G722' && to !== 'G722') {
    const table = from === 'PCMU' ? ULAW_TO_ALAW : ALAW_TO_ULAW;
    return {
      table,
      g722: undefined,
      convert(p) {
        for (let i = 0; i < p.length; i++) p[i] = table[p[i]!]!;
      },
    };
  }
  let pcm = new Int16Array(160);
  const grow = (n: number) => {
    if (pcm.length < n) pcm = new Int16Array(n);
    return pcm.subarray(0, n);
  };
  if (from === 'G722') {
    const dec = new G722Decoder();
    const law = to as 'PCMU' | 'PCMA';
    return {
      table: undefined,
      g722: { encode: false, law },
      convert(p) {
        g711Encode(law, dec.decode(p, grow(p.length)), p);
      },
    };
  }
  const enc = new G722Encoder();
  const law = from;
  return {
    table: undefined,
    g722: { encode: true, law },
    convert(p) {
      enc.encode(g711Decode(law, p, grow(p.length)), p);
    },
  };
}
