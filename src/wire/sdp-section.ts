/**
 * Line-preserving SDP sections. A section is a plain array of `x=value` lines in their original order;
 * accessors read lines on demand and setters rewrite only the line(s) they own, so everything the proxy
 * does not understand (and the order of what it does) survives byte for byte.
 */
import {
  type SdpConnection,
  type SdpLine,
  SdpError,
  checkLineText,
  formatConnection,
  joinAttribute,
  parseConnection,
  splitAttribute,
} from './sdp-fields.js';

/** Media direction attributes (RFC 3264 §5.1); absent means sendrecv unless the session level says otherwise. */
export type SdpDirection = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';

const DIRECTIONS: ReadonlySet<string> = new Set<SdpDirection>([
  'sendrecv',
  'sendonly',
  'recvonly',
  'inactive',
]);

/** True for the four direction attribute names. */
export function isDirection(name: string): name is SdpDirection {
  return DIRECTIONS.has(name);
}

/**
 * ICE attributes (RFC 8839) that a proxy must drop when it takes over the media path without doing ICE
 * itself: `section.removeAttrs((n) => iceAttributeNames.has(n))`.
 */
export const iceAttributeNames: ReadonlySet<string> = new Set([
  'ice-ufrag',
  'ice-pwd',
  'ice-options',
  'ice-lite',
  'ice-mismatch',
  'ice-pacing',
  'candidate',
  'remote-candidates',
  'end-of-candidates',
]);

/** RFC 8866 §5 session-level line order; a line type's rank says where a newly inserted line goes. */
const SESSION_ORDER = 'vosiuepcbtrzka';

/** Attribute lines and helpers common to the session level and to each media section. */
export class SdpSection {
  /**
   * The section's lines in order. For a media section `lines[0]` is its `m=` line. Safe to edit directly;
   * the accessors below read it on every call.
   */
  lines: SdpLine[];

  constructor(lines: SdpLine[] = []) {
    this.lines = lines;
  }

  /** Line order used when a line of a new type must be inserted. */
  protected get order(): string {
    return SESSION_ORDER;
  }

  /** Value of the first `a=name:value` (`''` for a bare `a=name`), undefined when absent. */
  attr(name: string): string | undefined {
    for (const l of this.lines) {
      if (l.type !== 'a') continue;
      const a = splitAttribute(l.value);
      if (a.name === name) return a.value;
    }
    return undefined;
  }

  /** Values of every `a=name` line, in order. */
  attrs(name: string): string[] {
    const out: string[] = [];
    for (const l of this.lines) {
      if (l.type !== 'a') continue;
      const a = splitAttribute(l.value);
      if (a.name === name) out.push(a.value);
    }
    return out;
  }

  hasAttr(name: string): boolean {
    return this.attr(name) !== undefined;
  }

  /** Removes attribute lines by exact name or by predicate; returns how many were removed. */
  removeAttrs(match: string | ((name: string, value: string) => boolean)): number {
    const test = typeof match === 'string' ? (n: string) => n === match : match;
    const before = this.lines.length;
    this.lines = this.lines.filter((l) => {
      if (l.type !== 'a') return true;
      const a = splitAttribute(l.value);
      return !test(a.name, a.value);
    });
    return before - this.lines.length;
  }

  /** Appends `a=name` (value undefined) or `a=name:value` at the end of the section. */
  addAttr(name: string, value?: string): void {
    this.lines.push({ type: 'a', value: joinAttribute(name, value) });
  }

  /** Rewrites the first `a=name` in place and drops any others; appends when there is none. */
  setAttr(name: string, value?: string): void {
    const text = joinAttribute(name, value);
    let done = false;
    this.lines = this.lines.filter((l) => {
      if (l.type !== 'a' || splitAttribute(l.value).name !== name) return true;
      if (done) return false;
      l.value = text;
      done = true;
      return true;
    });
    if (!done) this.lines.push({ type: 'a', value: text });
  }

  /**
   * Sets the single line of `type`: rewrites the first in place and drops any others, inserts one at its
   * RFC 8866 position when there is none, removes them all when `value` is undefined.
   */
  setLine(type: string, value: string | undefined): void {
    if (!/^[a-zA-Z]$/.test(type))
      throw new SdpError(`line type must be one letter, got ${JSON.stringify(type)}`);
    if (value !== undefined) checkLineText(`${type}= value`, value);
    let done = value === undefined;
    this.lines = this.lines.filter((l) => {
      if (l.type !== type) return true;
      if (done) return false;
      l.value = value as string;
      done = true;
      return true;
    });
    if (done) return;
    const order = this.order;
    const rank = (t: string) => {
      const r = order.indexOf(t);
      return r < 0 ? order.length : r;
    };
    const mine = rank(type);
    let at = this.lines.findIndex((l) => rank(l.type) > mine);
    if (at < 0) at = this.lines.length;
    this.lines.splice(at, 0, { type, value: value as string });
  }

  /** This section's own `c=` line (first one). A media section without one uses the session's. */
  get connection(): SdpConnection | undefined {
    const l = this.lines.find((x) => x.type === 'c');
    return l ? parseConnection(l.value) : undefined;
  }

  /** Rewrites this section's `c=` in place, inserts one where RFC 8866 puts it, or removes it (undefined). */
  set connection(c: SdpConnection | undefined) {
    this.setLine('c', c === undefined ? undefined : formatConnection(c));
  }

  /** The first direction attribute of this section, undefined when it has none. */
  get direction(): SdpDirection | undefined {
    for (const l of this.lines) {
      if (l.type !== 'a') continue;
      const n = splitAttribute(l.value).name;
      if (isDirection(n)) return n;
    }
    return undefined;
  }

  /** Rewrites the first direction attribute in place (others dropped), appends one, or removes all. */
  set direction(d: SdpDirection | undefined) {
    if (d !== undefined && !isDirection(d)) throw new SdpError(`not a direction: ${String(d)}`);
    let done = d === undefined;
    this.lines = this.lines.filter((l) => {
      if (l.type !== 'a' || !isDirection(splitAttribute(l.value).name)) return true;
      if (done) return false;
      l.value = d as string;
      done = true;
      return true;
    });
    if (!done) this.lines.push({ type: 'a', value: d as string });
  }

  /** Deep copy. */
  clone(): SdpSection {
    return new SdpSection(copyLines(this.lines));
  }
}

export function copyLines(lines: readonly SdpLine[]): SdpLine[] {
  return lines.map((l) => ({ type: l.type, value: l.value }));
}
