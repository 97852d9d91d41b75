/**
 * Codec manipulation that needs no transcoding: `strip` (remove from the SDP a party receives), `mask` (the
 * same in the SDP sent on; the offerer keeps them) and `except` (with strip all: keep only these).
 */
import type { SdpMedia } from '../wire/sdp.js';
import { STATIC_PAYLOADS } from './static-payloads.js';

export interface CodecFilter {
  strip?: string[];
  mask?: string[];
  except?: string[];
  /** Codecs to offer in addition, transcoded to and from the offerer's (PCMU, PCMA, G.722: engine/transcode.ts). */
  transcode?: string[];
}

/** `PCMA`, `pcma/8000`, `telephone-event` match an rtpmap (or static payload type) by name and clock rate. */
export function matches(spec: string, encoding: string, clockRate: number): boolean {
  const [name, rate] = spec.split('/');
  if (!name || name.toLowerCase() !== encoding.toLowerCase()) return false;
  return rate === undefined || Number(rate) === clockRate;
}

/** A payload type's codec from its rtpmap, or the static table. */
export function codecOf(m: SdpMedia, pt: number): { encoding: string; clockRate: number } | undefined {
  const r = m.rtpmaps().get(pt);
  if (r) return r;
  const s = STATIC_PAYLOADS.get(pt);
  if (!s) return undefined;
  const [encoding, rate] = s.split('/');
  return { encoding: encoding!, clockRate: Number(rate) };
}

const ALL = new Set(['all', 'full']);

/** The payload types the filter removes from this media section. */
export function payloadsToRemove(m: SdpMedia, f: CodecFilter): number[] {
  const remove = [...(f.strip ?? []), ...(f.mask ?? [])];
  if (remove.length === 0) return [];
  const all = remove.some((s) => ALL.has(s.toLowerCase()));
  const keep = f.except ?? [];
  const out: number[] = [];
  for (const fmt of m.formats) {
    const pt = Number(fmt);
    if (!Number.isInteger(pt)) continue;
    const c = codecOf(m, pt);
    if (!c) continue;
    if (keep.some((k) => matches(k, c.encoding, c.clockRate))) continue;
    if (all || remove.some((s) => matches(s, c.encoding, c.clockRate))) out.push(pt);
  }
  return out;
}

/** Codec names of the given payload types, to strip the same codecs from the answer. */
export function codecNames(m: SdpMedia, pts: number[]): string[] {
  return pts.flatMap((pt) => {
    const c = codecOf(m, pt);
    return c ? [`${c.encoding}/${c.clockRate}`] : [];
  });
}

/**
 * What an offer's filter takes out of the SDP sent on (`removed`: strip and mask), and what it strips by name
 * (`stripped`: codecs the offerer itself gives up; `strip all` and mask leave them to the offerer).
 */
export function offerFilter(
  m: SdpMedia,
  f: CodecFilter | undefined,
): { removed: number[]; stripped: number[] } {
  if (!f) return { removed: [], stripped: [] };
  const named = (f.strip ?? []).filter((s) => !ALL.has(s.toLowerCase()));
  return {
    removed: payloadsToRemove(m, f),
    stripped: named.length ? payloadsToRemove(m, { strip: named, except: f.except }) : [],
  };
}
