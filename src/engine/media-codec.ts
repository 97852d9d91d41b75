/**
 * The codec a media section negotiated, read from the parties' SDPs: what playback must encode to, which
 * payload type carries RFC 4733 events, and the packet interval. The answer decides (its first payload
 * type is the one both sides use); before an answer, the offer's first payload type stands in.
 */
import { type NarrowbandCodec, narrowbandCodec } from '../media/narrowband-convert.js';
import { Sdp, type SdpMedia } from '../wire/sdp.js';
import type { Call, Monologue } from './call.js';
import { STATIC_PAYLOADS } from './static-payloads.js';

export interface StreamCodec {
  /** Encoding name as the SDP gives it (upper-cased), e.g. PCMU, PCMA, OPUS. */
  name: string;
  payloadType: number;
  clockRate: number;
  /** Set when the codec is one playback can encode (G.711, or G.722 through its lower band). */
  encodable: NarrowbandCodec | undefined;
  /** telephone-event payload type at the codec's clock rate, if negotiated. */
  dtmfPayloadType: number | undefined;
  ptimeMs: number;
}

/** Cache of parsed SDP text: query/tap code asks often, SDPs change rarely. */
const parsed = new Map<string, Sdp | null>();

function parse(text: string | undefined): Sdp | undefined {
  if (text === undefined) return undefined;
  let s = parsed.get(text);
  if (s === undefined) {
    try {
      s = Sdp.parse(text);
    } catch {
      s = null;
    }
    if (parsed.size >= 256) parsed.clear();
    parsed.set(text, s);
  }
  return s ?? undefined;
}

/** The SDP that answered the exchange between `a` and its peer: the later-created party's (offerer first). */
function answerAndOffer(call: Call, a: Monologue): [string | undefined, string | undefined] {
  const b = a.peer;
  if (!b) return [undefined, a.sdp];
  const aFirst = call.monologues.indexOf(a) <= call.monologues.indexOf(b);
  const [offerer, answerer] = aFirst ? [a, b] : [b, a];
  return [answerer.sdp, offerer.sdp];
}

function codecOf(m: SdpMedia): StreamCodec | undefined {
  const maps = m.rtpmaps();
  const first = m.formats.map(Number).find((pt) => Number.isInteger(pt) && pt >= 0 && pt < 128);
  if (first === undefined) return undefined;
  const map = maps.get(first);
  const fallback = STATIC_PAYLOADS.get(first)?.split('/');
  const name = (map?.encoding ?? fallback?.[0] ?? `PT${first}`).toUpperCase();
  const clockRate = map?.clockRate ?? Number(fallback?.[1] ?? 8000);
  let dtmf: number | undefined;
  for (const [pt, r] of maps) {
    if (r.encoding.toLowerCase() === 'telephone-event' && r.clockRate === clockRate) {
      dtmf = pt;
      break;
    }
  }
  const encodable = narrowbandCodec(name, clockRate);
  const ptime = m.ptime;
  return {
    name,
    payloadType: first,
    clockRate,
    encodable,
    dtmfPayloadType: dtmf,
    ptimeMs: ptime !== undefined && ptime >= 10 && ptime <= 200 ? Math.round(ptime) : 20,
  };
}

/** The negotiated codec of media section `index` (0-based) between `party` and its peer. */
export function streamCodec(call: Call, party: Monologue, index: number): StreamCodec | undefined {
  for (const text of answerAndOffer(call, party)) {
    const m = parse(text)?.media[index];
    if (m && m.port !== 0) {
      const c = codecOf(m);
      if (c) return c;
    }
  }
  return undefined;
}
