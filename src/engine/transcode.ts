/**
 * `codec: { transcode: [...] }` between the two G.711 laws. The offer gains the other law (after the
 * offerer's own codecs, before CN and telephone-event, as rtpengine places it); when the answerer picks it,
 * the offerer is answered with its own law and every packet is converted byte by byte in both directions.
 * G.711 laws share clock and packet size, so SSRC, sequence numbers and timestamps stay as sent, and RTCP
 * needs no change.
 */
import type { PayloadConversion } from '../dataplane/relay-leg.js';
import { ALAW_TO_ULAW, type G711Codec, ULAW_TO_ALAW } from '../media/g711.js';
import type { SdpMedia } from '../wire/sdp.js';
import { codecOf, matches } from './codec-filter.js';

const G711_PT: Readonly<Record<G711Codec, number>> = { PCMU: 0, PCMA: 8 };

/** What an offer added, kept on the offerer's media side until the answer. */
export interface TranscodeOffer {
  /**
   * The offerer's codec that is converted (its first G.711 codec with a static payload type); undefined when
   * it has none: an answer with an added codec then passes as it is, as with rtpengine.
   */
  from: { pt: number; codec: G711Codec } | undefined;
  /** Codecs added to the offer. */
  added: { pt: number; codec: G711Codec }[];
  /** The offerer's telephone-event payload type at 8 kHz, if any. */
  events: number | undefined;
}

/**
 * Conversion of the packets one party sends (events: telephone-event payload types when the two parties
 * numbered it differently). The dataplane's type, so a native dataplane can apply it without a tap.
 */
export type Transcoding = PayloadConversion;

function g711Of(m: SdpMedia, pt: number): G711Codec | undefined {
  const c = codecOf(m, pt);
  if (c?.clockRate !== 8000) return undefined;
  const name = c.encoding.toUpperCase();
  return name === 'PCMU' || name === 'PCMA' ? name : undefined;
}

function isSupplementary(m: SdpMedia, pt: number): boolean {
  const c = codecOf(m, pt);
  const name = c?.encoding.toLowerCase();
  return name === 'telephone-event' || name === 'cn';
}

function eventsOf(m: SdpMedia): number | undefined {
  for (const f of m.formats) {
    const pt = Number(f);
    const c = codecOf(m, pt);
    if (c && c.encoding.toLowerCase() === 'telephone-event' && c.clockRate === 8000) return pt;
  }
  return undefined;
}

/**
 * The offer's side of transcoding for one media section: which payload types to add (and where), and what
 * to remember for the answer. `removed` are the payload types codec strip/mask take out of the offer sent
 * on; `stripped` those stripped by name, which the offerer cannot be converted from either (a masked codec,
 * or one `strip all` took, still can: rtpengine answers such an offerer with it, converted).
 */
export function planOffer(
  m: SdpMedia,
  targets: string[],
  filtered: { removed: number[]; stripped: number[] },
  warnings: string[],
): { offer: TranscodeOffer | undefined; add: number[] } {
  if (targets.length === 0 || m.kind !== 'audio' || !m.proto.toUpperCase().includes('RTP'))
    return { offer: undefined, add: [] };
  const offered = m.formats.map(Number).filter((pt) => Number.isInteger(pt));
  const want: G711Codec[] = [];
  for (const t of targets) {
    const law = (['PCMU', 'PCMA'] as const).find((c) => matches(t, c, 8000));
    if (!law)
      warnings.push(`codec '${t}' cannot be transcoded (only PCMU <-> PCMA is supported): not offered`);
    else if (!want.includes(law)) want.push(law);
  }
  const sent = offered.filter((pt) => !filtered.removed.includes(pt));
  const present = new Set(sent.map((pt) => g711Of(m, pt)));
  const added = want.filter((c) => !present.has(c) && !sent.includes(G711_PT[c]));
  if (added.length === 0) return { offer: undefined, add: [] };
  // The offerer's codec to convert from: its first G.711 with a static payload type (rtpmap filled in).
  const fromPt = offered.find(
    (pt) => (pt === G711_PT.PCMU || pt === G711_PT.PCMA) && !filtered.stripped.includes(pt) && g711Of(m, pt),
  );
  const fromCodec = fromPt === undefined ? undefined : g711Of(m, fromPt);
  if (!offered.some((pt) => g711Of(m, pt))) {
    // Nothing we could convert from (G722, opus ...): offering PCMA would only break the call.
    warnings.push(
      'transcoding needs PCMU or PCMA in the offer (only PCMU <-> PCMA is supported): nothing added',
    );
    return { offer: undefined, add: [] };
  }
  return {
    offer: {
      from: fromPt === undefined || fromCodec === undefined ? undefined : { pt: fromPt, codec: fromCodec },
      added: added.map((codec) => ({ pt: G711_PT[codec], codec })),
      events: eventsOf(m),
    },
    add: added.map((c) => G711_PT[c]),
  };
}

/** The formats of `m` with `add` placed after the last codec that is not CN or telephone-event. */
export function withAddedFormats(m: SdpMedia, add: number[]): string[] {
  const formats = m.formats;
  let at = formats.findIndex((f) => isSupplementary(m, Number(f)));
  if (at < 0) at = formats.length;
  formats.splice(at, 0, ...add.map(String));
  return formats;
}

/**
 * The answer's side: if the answerer chose a codec the offer only had because we added it, the offerer gets
 * its own codec in that place and both directions are converted. Added codecs the answerer merely listed
 * are removed from the answer the offerer sees (it never offered them).
 */
export function planAnswer(
  m: SdpMedia,
  offer: TranscodeOffer | undefined,
): {
  remove: number[];
  replace: [number, number] | undefined;
  offerer: Transcoding | undefined;
  answerer: Transcoding | undefined;
} {
  const none = { remove: [], replace: undefined, offerer: undefined, answerer: undefined };
  const from = offer?.from;
  if (!offer || !from) return none;
  const formats = m.formats.map(Number).filter((pt) => Number.isInteger(pt));
  const chosen = formats.find((pt) => !isSupplementary(m, pt));
  const addedHere = formats.filter((pt) => {
    const c = g711Of(m, pt);
    return c !== undefined && offer.added.some((a) => a.codec === c);
  });
  const chosenCodec = chosen === undefined ? undefined : g711Of(m, chosen);
  const picked = chosenCodec !== undefined && offer.added.some((a) => a.codec === chosenCodec);
  if (!picked || chosen === undefined || chosenCodec === undefined) return { ...none, remove: addedHere };
  const answerEvents = eventsOf(m);
  const events =
    offer.events !== undefined && answerEvents !== undefined && offer.events !== answerEvents
      ? ([offer.events, answerEvents] as [number, number])
      : undefined;
  const table = (from: G711Codec) => (from === 'PCMU' ? ULAW_TO_ALAW : ALAW_TO_ULAW);
  return {
    remove: addedHere.filter((pt) => pt !== chosen && pt !== from.pt),
    replace: [chosen, from.pt],
    offerer: {
      fromPt: from.pt,
      toPt: chosen,
      table: table(from.codec),
      events,
    },
    answerer: {
      fromPt: chosen,
      toPt: from.pt,
      table: table(chosenCodec),
      events: events ? [events[1], events[0]] : undefined,
    },
  };
}

/** Converts an RTP packet the sender sent, in place: the payload type and, for its codec, the payload. */
export function transcodePacket(
  t: Transcoding,
  msg: Buffer,
  payloadStart: number,
  payloadEnd: number,
): boolean {
  const pt = msg[1]! & 0x7f;
  if (pt === t.fromPt) {
    const table = t.table;
    for (let i = payloadStart; i < payloadEnd; i++) msg[i] = table[msg[i]!]!;
    msg[1] = (msg[1]! & 0x80) | t.toPt;
    return true;
  }
  if (t.events && pt === t.events[0]) msg[1] = (msg[1]! & 0x80) | t.events[1];
  return false;
}
