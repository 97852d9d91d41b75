/**
 * The syntax of an `rtpp-flags` string (an ng request's options written as one string, as Kamailio's rtpengine
 * module can send them): tokens separated by white space; `key=value`; `key=[a b c]` (a list) or
 * `key=[k=v k2=[..]]` (a dictionary, when every item is `k=v`); any other token is a bare word. What the keys
 * and words mean is control/'s business (control/rtpp-flags.ts).
 */
import type { BDict, BValue } from './bencode.js';

/** Deeper nesting than any option has (SDP-attr uses three levels) is refused. */
const MAX_DEPTH = 6;

export class RtppFlagsError extends Error {}

/** One token: `key=value` (the value a string, list or dictionary) or a bare word. */
export type RtppFlagsToken = { key: string; value: BValue } | { word: string };

/** Splits at white space outside brackets; throws on unbalanced brackets. */
function tokens(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = -1;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '[') {
      depth++;
      if (depth > MAX_DEPTH) throw new RtppFlagsError('rtpp-flags nested too deeply');
    } else if (c === ']') {
      depth--;
      if (depth < 0) throw new RtppFlagsError("Unbalanced ']' in rtpp-flags");
    }
    const space = c === ' ' || c === '\t' || c === '\r' || c === '\n';
    if (space && depth === 0) {
      if (start >= 0) out.push(s.slice(start, i));
      start = -1;
    } else if (start < 0) start = i;
  }
  if (depth !== 0) throw new RtppFlagsError("Unbalanced '[' in rtpp-flags");
  if (start >= 0) out.push(s.slice(start));
  return out;
}

/** `k=v` with the `=` before any bracket: [key, value]; otherwise null. */
function keyValue(t: string): [string, string] | null {
  const eq = t.indexOf('=');
  if (eq <= 0) return null;
  const br = t.indexOf('[');
  if (br >= 0 && br < eq) return null;
  return [t.slice(0, eq), t.slice(eq + 1)];
}

/** A value: `[...]` is a list or a dictionary, anything else a string. */
function value(v: string): BValue {
  if (!v.startsWith('[')) return v;
  // tokens() checked the balance of the whole string; a value must be one bracketed group.
  if (!v.endsWith(']')) throw new RtppFlagsError(`Malformed rtpp-flags value '${v}'`);
  const items = tokens(v.slice(1, -1));
  const pairs = items.map(keyValue);
  if (items.length > 0 && pairs.every((p) => p !== null)) {
    const d: BDict = {};
    // `__proto__` would replace the object's prototype instead of adding a key.
    for (const [k, x] of pairs as [string, string][]) if (k !== '__proto__') d[k] = value(x);
    return d;
  }
  return items.map((x) => value(x));
}

/** The tokens of an `rtpp-flags` string, in order; throws {@link RtppFlagsError} on bad brackets. */
export function parseRtppFlagsSyntax(s: string): RtppFlagsToken[] {
  return tokens(s).map((t) => {
    const kv = keyValue(t);
    return kv ? { key: kv[0], value: value(kv[1]) } : { word: t };
  });
}
