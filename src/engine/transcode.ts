/**
 * `codec: { transcode: [...] }` between PCMU, PCMA and G.722. The offer gains the codecs asked for (after the
 * offerer's own codecs, before CN and telephone-event, as rtpengine places them); when the answerer picks one,
 * the offerer is answered with its own codec and every packet is converted in both directions. The three
 * share an 8 kHz RTP clock and one byte per sample (media/narrowband-convert), so SSRC, sequence numbers
 * and timestamps stay as sent, and RTCP needs no change.
 */
import type { PayloadConversion } from '../dataplane/relay-leg.js';
import {
  NARROWBAND_PT,
  type NarrowbandCodec,
  narrowbandCodec,
  payloadConverter,
} from '../media/narrowband-convert.js';
import type { SdpMedia } from '../wire/sdp.js';
import { codecOf, matches } from './codec-filter.js';

const CODECS: readonly NarrowbandCodec[] = ['PCMU', 'PCMA', 'G722'];

/** What an offer added, kept on the offerer's media side until the answer. */
export interface TranscodeOffer {
  /**
   * The offerer's codec that is converted (its first one we can convert, with its static payload type);
   * undefined when it has none: an answer with an added codec then passes as it is, as with rtpengine.
   */
  from: { pt: number; codec: NarrowbandCodec } | undefined;
  /** Codecs added to the offer. */
  added: { pt: number; codec: NarrowbandCodec }[];
  /** The offerer's telephone-event payload type at 8 kHz, if any. */
  events: number | undefined;
}

/**
 * Conversion of the packets one party sends (events: telephone-event payload types when the two parties
 * numbered it differently). A native dataplane applies it itself, without a tap, from `table` or `g722`;
 * `convert` does the same in JavaScript, in place, in stream order (each keeps its own G.722 state).
 */
export interface Transcoding extends PayloadConversion {
  convert: (payload: Uint8Array) => void;
}

/** The codec of a payload type if we can convert it. */
function codecIn(m: SdpMedia, pt: number): NarrowbandCodec | undefined {
  const c = codecOf(m, pt);
  return c ? narrowbandCodec(c.encoding, c.clockRate) : undefined;
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
  const want: NarrowbandCodec[] = [];
  for (const t of targets) {
    const codec = CODECS.find((c) => matches(t, c, 8000));
    if (!codec) warnings.push(`codec '${t}' cannot be transcoded (PCMU, PCMA and G722 can): not offered`);
    else if (!want.includes(codec)) want.push(codec);
  }
  const sent = offered.filter((pt) => !filtered.removed.includes(pt));
  const present = new Set(sent.map((pt) => codecIn(m, pt)));
  const added = want.filter((c) => !present.has(c) && !sent.includes(NARROWBAND_PT[c]));
  if (added.length === 0) return { offer: undefined, add: [] };
  // The offerer's codec to convert from: its first one we can convert, with its static payload type.
  const fromPt = offered.find(
    (pt) =>
      codecIn(m, pt) !== undefined &&
      NARROWBAND_PT[codecIn(m, pt)!] === pt &&
      !filtered.stripped.includes(pt),
  );
  const fromCodec = fromPt === undefined ? undefined : codecIn(m, fromPt);
  if (!offered.some((pt) => codecIn(m, pt))) {
    // Nothing we could convert from (opus, G.729 ...): offering PCMA would only break the call.
    warnings.push(
      'transcoding needs PCMU, PCMA or G722 in the offer (we convert between those only): nothing added',
    );
    return { offer: undefined, add: [] };
  }
  return {
    offer: {
      from: fromPt === undefined || fromCodec === undefined ? undefined : { pt: fromPt, codec: fromCodec },
      added: added.map((codec) => ({ pt: NARROWBAND_PT[codec], codec })),
      events: eventsOf(m),
    },
    add: added.map((c) => NARROWBAND_PT[c]),
  };
}

/** The formats of `m` with `add` placed before its first CN or telephone-event (else at the end). */
export function withAddedFormats(m: SdpMedia, add: number[]): string[] {
  const formats = m.formats;
  let at = formats.findIndex((f) => isSupplementary(m, Number(f)));
  if (at < 0) at = formats.length;
  formats.splice(at, 0, ...add.map(String));
  return formats;
}

/**
 * The answer's side (`removed`: payload types the answer's own codec filter takes out, not looked at): if the
 * answerer chose a codec the offer only had because we added it, the offerer gets
 * its own codec in that place and both directions are converted. Added codecs the answerer merely listed
 * are removed from the answer the offerer sees (it never offered them).
 */
export function planAnswer(
  m: SdpMedia,
  offer: TranscodeOffer | undefined,
  removed: number[] = [],
): {
  remove: number[];
  replace: [number, number] | undefined;
  offerer: Transcoding | undefined;
  answerer: Transcoding | undefined;
} {
  const none = { remove: [], replace: undefined, offerer: undefined, answerer: undefined };
  const from = offer?.from;
  if (!offer || !from) return none;
  const formats = m.formats.map(Number).filter((pt) => Number.isInteger(pt) && !removed.includes(pt));
  const chosen = formats.find((pt) => !isSupplementary(m, pt));
  const addedHere = formats.filter((pt) => {
    const c = codecIn(m, pt);
    return c !== undefined && offer.added.some((a) => a.codec === c);
  });
  const chosenCodec = chosen === undefined ? undefined : codecIn(m, chosen);
  const picked = chosenCodec !== undefined && offer.added.some((a) => a.codec === chosenCodec);
  if (!picked || chosen === undefined || chosenCodec === undefined) return { ...none, remove: addedHere };
  const answerEvents = eventsOf(m);
  const events =
    offer.events !== undefined && answerEvents !== undefined && offer.events !== answerEvents
      ? ([offer.events, answerEvents] as [number, number])
      : undefined;
  const conversion = (
    a: NarrowbandCodec,
    b: NarrowbandCodec,
    fromPt: number,
    toPt: number,
    ev: typeof events,
  ) => {
    const c = payloadConverter(a, b);
    return c ? { fromPt, toPt, table: c.table, g722: c.g722, convert: c.convert, events: ev } : undefined;
  };
  return {
    remove: addedHere.filter((pt) => pt !== chosen && pt !== from.pt),
    replace: [chosen, from.pt],
    offerer: conversion(from.codec, chosenCodec, from.pt, chosen, events),
    answerer: conversion(
      chosenCodec,
      from.codec,
      chosen,
      from.pt,
      events ? [events[1], events[0]] : undefined,
    ),
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
    t.convert(msg.subarray(payloadStart, payloadEnd));
    msg[1] = (msg[1]! & 0x80) | t.toPt;
    return true;
  }
  if (t.events && pt === t.events[0]) msg[1] = (msg[1]! & 0x80) | t.events[1];
  return false;
}
